"""The formula language: parse, print, evaluate; faults refused with a reason."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from obmin.rates.formula import (
    ARITY,
    Binary,
    Call,
    CurrencyRef,
    FormulaError,
    Negative,
    Number,
    QuoteInput,
    QuoteRef,
    TrialInputs,
    evaluate,
    formula_check,
    formula_text,
    parse,
)


class Quotes:
    """Quotes from a dict by key; a missing one is unusable with its reason."""

    def __init__(self, prices: dict[str, Decimal | str]) -> None:
        self.prices = prices

    def quote(self, ref: QuoteRef) -> QuoteInput:
        value = self.prices.get(ref.key)
        if value is None:
            return QuoteInput(None, problem=f"{ref.key} is stale")
        if isinstance(value, str):
            return QuoteInput(None, problem=value)
        return QuoteInput(value, 5.0)

    def currency(self, ref: CurrencyRef) -> Decimal:
        return {"reserve": Decimal(1000), "held": Decimal(250)}[ref.function]


def value(text: str, **prices: Decimal | str) -> Decimal | None:
    quotes = {key.replace("__", ":"): price for key, price in prices.items()}
    return evaluate(parse(text), Quotes(quotes)).value


def test_arithmetic_is_decimal_with_precedence_and_unary_minus():
    assert value("1 + 2 * 3") == 7
    assert value("(1 + 2) * 3") == 9
    assert value("10 - 4 - 3") == 3
    assert value("-2 * -3") == 6
    assert value("0.1 + 0.2") == Decimal("0.3")  # never a float
    assert value("1 / 3 * 3") == Decimal("0.9999999999999999999999999999999999999999")


def test_functions():
    assert value("median(3, 1, 2)") == 2
    assert value("median(4, 1, 3, 2)") == Decimal("2.5")
    assert value("min(3, 1, 2) + max(3, 1, 2)") == 4
    assert value("round(2.345, 2)") == Decimal("2.35")  # half up, as money is
    assert value("round(1234.5, 0)") == 1235
    assert value("clamp(5, 1, 3)") == 3
    assert value("clamp(-5, 1, 3)") == 1
    assert value("margin(100, 1.5)") == Decimal("98.5")
    assert value("margin(100, 1.5, 0.25)") == Decimal("98.25")
    assert value("reserve(BTC) - held(btc)") == 750


def test_quotes_cross_rate_through_a_third_currency():
    # BTC in UAH: BTC/USDT on a venue times the NBU's UAH for one USD.
    assert value("[binance:BTCUSDT:bid] * [nbu:USD:last]",
                 binance__BTCUSDT__bid=Decimal("90000"),
                 nbu__USD__last=Decimal("41.5")) == Decimal("3735000")


def test_an_unusable_quote_makes_the_result_unusable_with_every_reason():
    result = evaluate(parse("[a:X:bid] * [b:Y:bid] + [c:Z:ask]"),
                      Quotes({"b:Y:bid": Decimal(2)}))
    assert result.value is None
    assert result.problems == ("a:X:bid is stale", "c:Z:ask is stale")


def test_median_holds_on_the_usable_quotes_and_refuses_disagreeing_venues():
    text = "median([a:X:bid], [b:X:bid], [c:X:bid])"
    quotes = {"a:X:bid": Decimal(100), "b:X:bid": Decimal(101)}
    result = evaluate(parse(text), Quotes(quotes), max_spread_percent=Decimal(2))
    assert result.value == Decimal("100.5")
    assert [q.value for q in result.used] == [100, 101]  # c, unusable, is not an input
    far = evaluate(parse(text), Quotes({**quotes, "c:X:bid": Decimal(110)}),
                   max_spread_percent=Decimal(2))
    assert far.value is None
    assert far.problems[0].startswith("venues disagree by 9.9%")
    none = evaluate(parse(text), Quotes({}), max_spread_percent=Decimal(2))
    assert none.value is None and len(none.problems) == 3


def test_every_step_is_recorded_with_the_quotes_ages():
    result = evaluate(parse("round([a:X:bid] * 2, 1)"), Quotes({"a:X:bid": Decimal("1.26")}))
    assert [(s.text, s.value, s.age_seconds) for s in result.steps] == [
        ("[a:X:bid]", Decimal("1.26"), 5.0),
        ("[a:X:bid] * 2", Decimal("2.52"), None),
        ("round([a:X:bid] * 2, 1)", Decimal("2.5"), None),
    ]


@pytest.mark.parametrize(("text", "message"), [
    ("", "The formula is empty."),
    ("1 +", "The formula ends too early (position 4)."),
    ("(1 + 2", "Expected ')' at position 7, found the end."),
    ("1 $ 2", "Unexpected '$' at position 3."),
    ("[binance:BTCUSDT]", "write [source:SYMBOL:field]"),
    ("[binance:BTCUSDT:close]", "the field is one of bid, ask, last, mid"),
    ("sqrt(4)", "Unknown function sqrt()"),
    ("round(1, 2, 3)", "round() takes 2 to 2 arguments, got 3."),
    ("round(1, 1.5)", "places is a whole number"),
    ("clamp(1, 2)", "clamp() takes 3 to 3 arguments"),
    ("1 2", "Unexpected '2' at position 3."),
])
def test_syntax_errors_say_where(text, message):
    with pytest.raises(FormulaError) as error:
        parse(text)
    assert message in error.value.message


def no_problem(ref: QuoteRef) -> str:
    return "" if ref.source in ("binance", "kraken") else f"Unknown quote [{ref.key}]"


@pytest.mark.parametrize(("text", "message"), [
    ("[binance:BTCUSDT:bid] / 0", "Division by zero."),
    ("[binance:BTCUSDT:bid] / (2 - 2)", "Division by zero."),
    ("1 / ([binance:BTCUSDT:bid] - [binance:BTCUSDT:bid])", "Division by zero."),
    ("[nowhere:BTCUSDT:bid]", "Unknown quote [nowhere:BTCUSDT:bid]"),
    ("clamp([binance:BTCUSDT:bid], 3, 1)", "low 3 is above high 1"),
    ("reserve(BTC)", "reserve() and held() belong in reserve formulas."),
])
def test_the_save_check_refuses_what_can_never_compute(text, message):
    with pytest.raises(FormulaError) as error:
        formula_check(text, quote_problem=no_problem)
    assert message in error.value.message


def test_the_save_check_refuses_only_what_fails_whatever_the_quotes():
    """A division by zero or an upside-down clamp at some quotes only is a matter of the
    market (the direction hides then, with the reason), not a fault of the formula."""
    for text in ("1 / ([binance:BTCUSDT:bid] - 1.137)",  # zero only where the quote is 1.137
                 "1 / ([binance:BTCUSDT:bid] - 1137)",
                 "clamp(1, [binance:BTCUSDT:bid], 2)"):  # low above high once the quote is
        assert isinstance(formula_check(text, quote_problem=no_problem), Call | Binary)


def test_the_save_check_accepts_a_cross_rate_with_margin():
    node = formula_check("round(margin(median([binance:BTCUSDT:bid], [kraken:XBTUSDT:bid]) "
                         "/ ([binance:USDTUAH:ask] - 1), 1.5, 20), 2)", quote_problem=no_problem)
    assert isinstance(node, Call)


# ---------------------------------------------------------------------------------------------
# Properties

numbers = st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False,
                      allow_infinity=False).map(Number)
quotes = st.builds(QuoteRef, st.sampled_from(["binance", "kraken", "nbu"]),
                   st.sampled_from(["BTCUSDT", "BTC-USDT", "USD", "X_Y"]),
                   st.sampled_from(["bid", "ask", "last", "mid"]))
currencies = st.builds(CurrencyRef, st.sampled_from(["reserve", "held"]),
                       st.sampled_from(["BTC", "USDTTRC20"]))


def calls(children):
    def call(name):
        least, most = ARITY[name]
        if name == "round":
            return st.tuples(children, st.integers(0, 8).map(lambda n: Number(Decimal(n)))) \
                .map(lambda args: Call(name, args))
        return st.lists(children, min_size=least, max_size=min(most, 4)).map(
            lambda args: Call(name, tuple(args)))
    return st.sampled_from(sorted(ARITY)).flatmap(call)


trees = st.recursive(
    numbers | quotes | currencies,
    lambda children: (
        st.builds(Negative, children)
        | st.builds(Binary, st.sampled_from("+-*/"), children, children)
        | calls(children)),
    max_leaves=12)


@given(trees)
@settings(max_examples=300, deadline=None)
def test_print_then_parse_gives_the_same_tree(tree):
    text = formula_text(tree)
    assert parse(text) == tree
    assert formula_text(parse(text)) == text


@given(trees)
@settings(max_examples=200, deadline=None)
def test_evaluation_is_stable_under_printing_and_never_raises_but_formula_errors(tree):
    inputs = TrialInputs()
    try:
        first = evaluate(tree, inputs).value
    except FormulaError:
        with pytest.raises(FormulaError):
            evaluate(parse(formula_text(tree)), inputs)
        return
    assert evaluate(parse(formula_text(tree)), inputs).value == first


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_any_text_parses_or_is_refused_with_a_reason(text):
    try:
        tree = parse(text)
    except FormulaError as error:
        assert error.message
    else:
        assert parse(formula_text(tree)) == tree


@settings(deadline=None)
@given(st.lists(st.decimals(min_value=1, max_value=10**5, places=2), min_size=1, max_size=6),
       st.integers(0, 5))
def test_median_drops_unusable_venues_and_takes_the_middle_of_the_rest(prices, stale):
    keys = [f"v{i}:BTCUSDT:bid" for i in range(len(prices) + stale)]
    text = f"median({', '.join(f'[{k}]' for k in keys)})"
    result = evaluate(parse(text), Quotes(dict(zip(keys, prices, strict=False))))
    ordered = sorted(prices)
    middle = len(ordered) // 2
    expected = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    assert result.value == expected
    assert len(result.used) == len(prices)


known_quotes = st.builds(QuoteRef, st.sampled_from(["binance", "kraken"]),
                         st.sampled_from(["BTCUSDT", "XBTUSDT"]),
                         st.sampled_from(["bid", "ask", "last", "mid"]))
rate_trees = st.recursive(
    numbers | known_quotes,
    lambda children: (
        st.builds(Negative, children)
        | st.builds(Binary, st.sampled_from("+-*/"), children, children)
        | calls(children)),
    max_leaves=10)


@given(rate_trees, st.sampled_from(["0", "(1 - 1)", "([kraken:XBTUSDT:bid] - "
                                                   "[kraken:XBTUSDT:bid])"]))
@settings(max_examples=200, deadline=None)
def test_a_division_by_zero_is_refused_at_save_whatever_surrounds_it(tree, zero):
    text = f"{formula_text(tree)} + 1 / {zero}"
    with pytest.raises(FormulaError) as error:
        formula_check(text, quote_problem=no_problem)
    # The division added, or one the tree already had (or its upside-down clamp).
    assert error.value.message == "Division by zero." or "clamp(" in error.value.message


@given(rate_trees, st.sampled_from(["nowhere", "bitstamp"]))
@settings(max_examples=200, deadline=None)
def test_an_unknown_quote_is_refused_at_save_whatever_surrounds_it(tree, source):
    text = f"median({formula_text(tree)}, [{source}:BTCUSDT:bid])"
    with pytest.raises(FormulaError) as error:
        formula_check(text, quote_problem=no_problem)
    assert error.value.message == f"Unknown quote [{source}:BTCUSDT:bid]"
