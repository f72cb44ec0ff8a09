"""The rate formula language: Decimal arithmetic over market quotes, parsed by hand, no `eval`.

    median([binance:BTCUSDT:bid], [kraken:XBTUSDT:bid]) * [nbu:USD:last]
    round(margin([kucoin:BTC-USDT:bid], 1.5, 20), 2)
    clamp([ecb:USD:last], 1, 1.5)
    reserve(BTC) - held(BTC)

Grammar (whitespace anywhere between tokens):

    expr    := term (("+" | "-") term)*
    term    := unary (("*" | "/") unary)*
    unary   := "-" unary | primary
    primary := NUMBER | QUOTE | "(" expr ")" | NAME "(" args ")"
    QUOTE   := "[" source ":" symbol ":" field "]"

Functions: median, min, max (one or more arguments), round(x, places), clamp(x, low, high),
margin(x, percent[, fixed]) = x less `percent` % less `fixed`; for reserve formulas
reserve(CODE) (a currency's reserve) and held(CODE) (what open exchanges will pay out of it).

`parse` gives a tree of frozen dataclasses, `formula_text` prints it back (parse and print
round-trip), `evaluate` computes it over an `Inputs` (quotes and reserves), recording each
step for `obmin rates explain`. A quote that cannot be used (stale, failed, missing) makes
the whole result unusable with its reason, except inside `median`, which takes the usable
ones as long as one is left and they agree within the allowed spread.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, DecimalException, localcontext
from typing import Protocol

from django.utils.translation import gettext as _

from obmin.lib.errors import Refused

QUOTE_FIELDS = ("bid", "ask", "last", "mid")
SOURCE_PATTERN = r"[a-z][a-z0-9_]{0,31}"
SYMBOL_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_./-]{0,39}"
VARIADIC = ("median", "min", "max")
# name -> (least, most) arguments
ARITY = {"median": (1, 50), "min": (1, 50), "max": (1, 50), "round": (2, 2),
         "clamp": (3, 3), "margin": (2, 3)}
CURRENCY_FUNCTIONS = ("reserve", "held")
MAX_PLACES = 18
# Enough digits for 30-digit amounts and their ratios.
PRECISION = 40


class FormulaError(Refused):
    """A formula that cannot be saved or computed; the message says where and why."""


# ---------------------------------------------------------------------------------------------
# The tree


@dataclass(frozen=True)
class Number:
    value: Decimal


@dataclass(frozen=True)
class QuoteRef:
    source: str
    symbol: str
    field: str

    @property
    def key(self) -> str:
        return f"{self.source}:{self.symbol}:{self.field}"


@dataclass(frozen=True)
class CurrencyRef:
    function: str  # "reserve" or "held"
    code: str


@dataclass(frozen=True)
class Negative:
    operand: Node


@dataclass(frozen=True)
class Binary:
    operator: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Node, ...]


Node = Number | QuoteRef | CurrencyRef | Negative | Binary | Call


def walk(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, Negative):
        yield from walk(node.operand)
    elif isinstance(node, Binary):
        yield from walk(node.left)
        yield from walk(node.right)
    elif isinstance(node, Call):
        for arg in node.args:
            yield from walk(arg)


def quote_refs(node: Node) -> list[QuoteRef]:
    """Every quote the formula reads, once each, in order of appearance."""
    return list(dict.fromkeys(n for n in walk(node) if isinstance(n, QuoteRef)))


# ---------------------------------------------------------------------------------------------
# Text -> tokens -> tree

TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<quote>\[[^\]]*\])
  | (?P<name>[A-Za-z][A-Za-z0-9]*)
  | (?P<op>[-+*/(),])
""", re.VERBOSE)
QUOTE = re.compile(rf"\[\s*({SOURCE_PATTERN})\s*:\s*({SYMBOL_PATTERN})\s*:\s*([a-z]+)\s*\]\Z")


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    at: int


def tokenize(text: str) -> list[Token]:
    tokens = []
    at = 0
    while at < len(text):
        match = TOKEN.match(text, at)
        if match is None:
            raise FormulaError(_("Unexpected %(char)r at position %(at)d.")
                               % {"char": text[at], "at": at + 1})
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(), at))
        at = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise self.unexpected(token, text)

    @staticmethod
    def unexpected(token: Token, wanted: str = "") -> FormulaError:
        found = repr(token.text) if token.kind != "end" else _("the end")
        if token.kind == "end" and not wanted:
            return FormulaError(_("The formula ends too early (position %(at)d).")
                                % {"at": token.at + 1})
        if wanted:
            return FormulaError(_("Expected %(wanted)r at position %(at)d, found %(found)s.")
                                % {"wanted": wanted, "at": token.at + 1, "found": found})
        return FormulaError(_("Unexpected %(found)s at position %(at)d.")
                            % {"found": found, "at": token.at + 1})

    def formula(self) -> Node:
        node = self.expr()
        if self.token.kind != "end":
            raise self.unexpected(self.token)
        return node

    def expr(self) -> Node:
        node = self.term()
        while self.token.text in ("+", "-"):
            operator = self.take().text
            node = Binary(operator, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.token.text in ("*", "/"):
            operator = self.take().text
            node = Binary(operator, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.token.text == "-":
            self.take()
            return Negative(self.unary())
        return self.primary()

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "number":
            return Number(Decimal(token.text))
        if token.kind == "quote":
            return self.quote(token)
        if token.text == "(":
            node = self.expr()
            self.expect(")")
            return node
        if token.kind == "name":
            return self.call(token)
        raise self.unexpected(token)

    @staticmethod
    def quote(token: Token) -> QuoteRef:
        match = QUOTE.match(token.text)
        if match is None:
            raise FormulaError(
                _("Quote %(quote)s at position %(at)d: write [source:SYMBOL:field], e.g. "
                  "[binance:BTCUSDT:bid].") % {"quote": token.text, "at": token.at + 1})
        source, symbol, quote_field = match.groups()
        if quote_field not in QUOTE_FIELDS:
            raise FormulaError(_("Quote %(quote)s: the field is one of %(fields)s.")
                               % {"quote": token.text, "fields": ", ".join(QUOTE_FIELDS)})
        return QuoteRef(source, symbol, quote_field)

    def call(self, token: Token) -> Node:
        name = token.text.lower()
        self.expect("(")
        if name in CURRENCY_FUNCTIONS:
            code = self.take()
            if code.kind != "name":
                raise FormulaError(_("%(name)s() takes a currency code, e.g. %(name)s(BTC).")
                                   % {"name": name})
            self.expect(")")
            return CurrencyRef(name, code.text.upper())
        if name not in ARITY:
            raise FormulaError(_("Unknown function %(name)s() at position %(at)d; known: "
                                 "%(known)s.")
                               % {"name": token.text, "at": token.at + 1,
                                  "known": ", ".join([*ARITY, *CURRENCY_FUNCTIONS])})
        args = [self.expr()]
        while self.token.text == ",":
            self.take()
            args.append(self.expr())
        self.expect(")")
        least, most = ARITY[name]
        if not least <= len(args) <= most:
            raise FormulaError(_("%(name)s() takes %(least)d to %(most)d arguments, got "
                                 "%(n)d.") % {"name": name, "least": least, "most": most,
                                              "n": len(args)})
        if name == "round":
            places = args[1]
            if (not isinstance(places, Number) or places.value != places.value.to_integral()
                    or places.value > MAX_PLACES):
                raise FormulaError(_("round(x, places): places is a whole number from 0 to "
                                     "%(most)d.") % {"most": MAX_PLACES})
        return Call(name, tuple(args))


def parse(text: str) -> Node:
    """The tree of a formula, or FormulaError saying where it goes wrong."""
    if not text.strip():
        raise FormulaError(_("The formula is empty."))
    return _Parser(text).formula()


# ---------------------------------------------------------------------------------------------
# Tree -> text

PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def number_text(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def formula_text(node: Node) -> str:
    """The formula written back, canonically: parse(formula_text(t)) == t."""
    if isinstance(node, Number):
        return number_text(node.value)
    if isinstance(node, QuoteRef):
        return f"[{node.key}]"
    if isinstance(node, CurrencyRef):
        return f"{node.function}({node.code})"
    if isinstance(node, Negative):
        inner = formula_text(node.operand)
        return f"-({inner})" if isinstance(node.operand, Binary) else f"-{inner}"
    if isinstance(node, Binary):
        level = PRECEDENCE[node.operator]
        left, right = formula_text(node.left), formula_text(node.right)
        if isinstance(node.left, Binary) and PRECEDENCE[node.left.operator] < level:
            left = f"({left})"
        # Left-associative: an equal level on the right needs its parentheses.
        if isinstance(node.right, Binary) and PRECEDENCE[node.right.operator] <= level:
            right = f"({right})"
        return f"{left} {node.operator} {right}"
    return f"{node.function}({', '.join(formula_text(arg) for arg in node.args)})"


# ---------------------------------------------------------------------------------------------
# Evaluation


@dataclass(frozen=True)
class QuoteInput:
    """A quote as the formula sees it: its price and age, or why it cannot be used;
    `taken_at` and `valid_until` (when it passes its maximum age) where it has them."""

    value: Decimal | None
    age_seconds: float | None = None
    problem: str = ""
    taken_at: datetime | None = None
    valid_until: datetime | None = None


class Inputs(Protocol):
    def quote(self, ref: QuoteRef) -> QuoteInput: ...

    def currency(self, ref: CurrencyRef) -> Decimal: ...


@dataclass(frozen=True)
class Step:
    """One computed node: its text, value (None: unusable) and, for a quote, its age."""

    text: str
    value: Decimal | None
    age_seconds: float | None = None
    problem: str = ""


@dataclass(frozen=True)
class Result:
    value: Decimal | None
    # Why the value is None: every reason found, e.g. "source kraken failed: HTTP 503".
    problems: tuple[str, ...]
    steps: tuple[Step, ...]
    # The quotes the value was built on (unusable ones a median dropped are not).
    used: tuple[QuoteInput, ...] = ()

    @property
    def inputs_at(self) -> datetime | None:
        """The time of the oldest quote the value was built on."""
        times = [quote.taken_at for quote in self.used if quote.taken_at is not None]
        return min(times) if times else None

    @property
    def valid_until(self) -> datetime | None:
        """When the first of those quotes passes its maximum age."""
        times = [quote.valid_until for quote in self.used if quote.valid_until is not None]
        return min(times) if times else None


class _Unusable(Exception):
    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


@dataclass
class _Evaluation:
    inputs: Inputs
    max_spread_percent: Decimal | None
    steps: list[Step] = field(default_factory=list)
    used: list[QuoteInput] = field(default_factory=list)

    def value(self, node: Node) -> Decimal:
        try:
            result = self._value(node)
        except _Unusable as unusable:
            if not isinstance(node, QuoteRef):
                self.steps.append(Step(formula_text(node), None,
                                       problem="; ".join(unusable.problems)))
            raise
        if not isinstance(node, Number | QuoteRef):
            self.steps.append(Step(formula_text(node), result))
        return result

    def _value(self, node: Node) -> Decimal:
        if isinstance(node, Number):
            return node.value
        if isinstance(node, QuoteRef):
            quote = self.inputs.quote(node)
            self.steps.append(Step(formula_text(node), quote.value, quote.age_seconds,
                                   quote.problem))
            if quote.value is None or quote.problem:
                raise _Unusable([quote.problem or _("%(quote)s has no price")
                                 % {"quote": node.key}])
            self.used.append(quote)
            return quote.value
        if isinstance(node, CurrencyRef):
            return self.inputs.currency(node)
        if isinstance(node, Negative):
            return -self.value(node.operand)
        if isinstance(node, Binary):
            left, right = self._both(node.left, node.right)
            return _arithmetic(node.operator, left, right)
        return self._call(node)

    def _both(self, *nodes: Node) -> list[Decimal]:
        """Every argument's value; all their problems together when any is unusable."""
        values: list[Decimal] = []
        problems: list[str] = []
        for node in nodes:
            try:
                values.append(self.value(node))
            except _Unusable as unusable:
                problems.extend(unusable.problems)
        if problems:
            raise _Unusable(problems)
        return values

    def _call(self, node: Call) -> Decimal:
        if node.function == "median":
            return self._median(node)
        args = self._both(*node.args)
        if node.function == "min":
            return min(args)
        if node.function == "max":
            return max(args)
        if node.function == "round":
            return args[0].quantize(Decimal(1).scaleb(-int(args[1])), rounding=ROUND_HALF_UP)
        if node.function == "clamp":
            value, low, high = args
            if low > high:
                raise FormulaError(_("clamp(x, low, high): low %(low)s is above high "
                                     "%(high)s.") % {"low": number_text(low),
                                                     "high": number_text(high)})
            return min(max(value, low), high)
        value, percent = args[0], args[1]
        fixed = args[2] if len(args) == 3 else Decimal(0)
        return value * (1 - percent / 100) - fixed

    def _median(self, node: Call) -> Decimal:
        values: list[Decimal] = []
        problems: list[str] = []
        for arg in node.args:
            used_before = len(self.used)
            try:
                values.append(self.value(arg))
            except _Unusable as unusable:
                problems.extend(unusable.problems)
                del self.used[used_before:]
        if not values:
            raise _Unusable(problems)
        ordered = sorted(values)
        middle = len(ordered) // 2
        median = (ordered[middle] if len(ordered) % 2
                  else (ordered[middle - 1] + ordered[middle]) / 2)
        if self.max_spread_percent is not None and len(ordered) > 1:
            if median <= 0:
                raise _Unusable([_("median of %(text)s is not positive")
                                 % {"text": formula_text(node)}])
            spread = (ordered[-1] - ordered[0]) / median * 100
            if spread > self.max_spread_percent:
                raise _Unusable([_("venues disagree by %(spread)s%% in %(text)s (allowed "
                                   "%(allowed)s%%)")
                                 % {"spread": number_text(round(spread, 2)),
                                    "text": formula_text(node),
                                    "allowed": number_text(self.max_spread_percent)}])
        return median


def _arithmetic(operator: str, left: Decimal, right: Decimal) -> Decimal:
    if operator == "+":
        return left + right
    if operator == "-":
        return left - right
    if operator == "*":
        return left * right
    if right == 0:
        raise FormulaError(_("Division by zero."))
    return left / right


def evaluate(node: Node, inputs: Inputs, *,
             max_spread_percent: Decimal | None = None) -> Result:
    """The formula's value over `inputs`, or None with every reason it cannot be computed.

    Raises FormulaError for faults of the formula itself (division by zero, a clamp whose low
    is above its high), which the admin refuses at save."""
    evaluation = _Evaluation(inputs, max_spread_percent)
    with localcontext() as context:
        context.prec = PRECISION
        try:
            value: Decimal | None = evaluation.value(node)
            problems: tuple[str, ...] = ()
        except _Unusable as unusable:
            value, problems = None, unusable.problems
        except DecimalException as error:
            raise FormulaError(_("The formula cannot be computed: %(error)s.")
                               % {"error": type(error).__name__}) from None
    return Result(value, problems, tuple(evaluation.steps), tuple(evaluation.used))


class TrialInputs:
    """Made-up inputs for a save-time check that the formula computes: each quote and reserve
    its own number (so `[a] - [a]` is zero and `[a] - [b]` is not), no division by zero."""

    def __init__(self, scale: Decimal = Decimal(1)) -> None:
        self.scale = scale
        self.seen: dict[object, Decimal] = {}

    def _number(self, key: object) -> Decimal:
        if key not in self.seen:
            self.seen[key] = self.scale * (1 + Decimal("0.137") * (len(self.seen) + 1))
        return self.seen[key]

    def quote(self, ref: QuoteRef) -> QuoteInput:
        return QuoteInput(self._number(ref), 0.0)

    def currency(self, ref: CurrencyRef) -> Decimal:
        return self._number(ref)


def formula_check(text: str, *, quote_problem: Callable[[QuoteRef], str],
                  currencies_allowed: bool = False) -> Node:
    """The parsed formula, or FormulaError: bad syntax, an unknown source or symbol
    (`quote_problem(ref)` answers "" or what is wrong with it), a currency function in a rate
    formula, a division by zero or a clamp upside down whatever the inputs are (tried on two
    sets of made-up inputs: refused when both fail)."""
    node = parse(text)
    for ref in quote_refs(node):
        problem = quote_problem(ref)
        if problem:
            raise FormulaError(problem)
    if not currencies_allowed and any(isinstance(n, CurrencyRef) for n in walk(node)):
        raise FormulaError(_("reserve() and held() belong in reserve formulas."))
    # Refused only when it fails at every trial: one that fails at some quotes only (a
    # division by a quote less a number) hides its direction then, with the reason.
    failures = []
    for scale in (Decimal(1), Decimal(1000)):
        try:
            evaluate(node, TrialInputs(scale))
        except FormulaError as error:
            failures.append(error)
        else:
            return node
    raise failures[0]
