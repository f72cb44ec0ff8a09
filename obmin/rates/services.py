"""The market-rate sync: poll the venues that are due, keep their quotes, recompute every
direction's rate and every reserve that follows a formula, and never offer a wrong rate.

`rates_sync` is one round (a duty of `obmin worker`; `rates_round`, which says what failed,
for `obmin rates sync`). A direction whose formula cannot be computed from sound quotes (too
old, a failed source, a delisted symbol, venues disagreeing beyond the spread) or whose new
rate jumps beyond the threshold (from the last rate offered, or the first from the manual
rate) is hidden through `exchange.rate_feed.market_rates_apply` (out of the
export, no new exchanges) with its reason, and the operator is told by e-mail; it comes back
by itself when its quotes are sound again, except after a jump, which waits for
`market_rate_confirm`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from obmin.exchange.models import AMOUNT, Currency, Exchange, ExchangeStatus
from obmin.exchange.rate_feed import (
    MarketRate as DirectionMarketRate,
)
from obmin.exchange.rate_feed import (
    RatesUpdate,
    ReserveChange,
    market_rates_apply,
    rates_apply,
)
from obmin.lib.errors import Refused
from obmin.lib.mail import email_on_commit
from obmin.lib.money import plain, quantize, quantize_down
from obmin.lib.timeutil import utc_date
from obmin.rates.formula import (
    CurrencyRef,
    FormulaError,
    Node,
    QuoteInput,
    QuoteRef,
    Result,
    evaluate,
    formula_check,
    number_text,
    parse,
    quote_refs,
    walk,
)
from obmin.rates.models import MarketRate, Quote, RateSide, RateSource, ReserveFormula
from obmin.rates.venues import VENUES
from obmin.rates.venues.base import RateLimited, Ticker, VenueError

logger = logging.getLogger("obmin.rates")

USER_AGENT = "obmin-rates/1"
# A venue that asked us to slow down without saying for how long is left alone this long.
DEFAULT_BACKOFF_SECONDS = 60
# A claimed source's poll is bounded by its timeout; this long more and another round takes it.
POLL_LEASE_MARGIN_SECONDS = 10
# Exchanges that will still pay out of a currency's reserve (`held(CODE)`).
FINISHED = (ExchangeStatus.SUCCESS, ExchangeStatus.ERROR, ExchangeStatus.CANCELLED)
RATE_PLACES = AMOUNT["decimal_places"]
# How often a market rate or reserve formula whose outcome did not change has its
# `computed_at` rewritten (the admin's "computed"); a change is written at once.
STATE_REFRESH = timedelta(seconds=60)


class RatesError(Refused):
    """A refused rates request (an unknown direction, nothing to confirm)."""


# ---------------------------------------------------------------------------------------------
# Formulas: what they may name


def quote_problem(ref: QuoteRef) -> str:
    """"" when a formula may read this quote, else why not: no such source, or a symbol its
    venue cannot have. Asked when a formula is saved."""
    source = RateSource.objects.filter(name=ref.source).first()
    if source is None:
        known = ", ".join(RateSource.objects.values_list("name", flat=True)) or "-"
        return _("Unknown quote [%(key)s]: there is no source %(source)r (sources: "
                 "%(known)s).") % {"key": ref.key, "source": ref.source, "known": known}
    venue = VENUES.get(source.venue)
    problem = venue.symbol_problem(ref.symbol) if venue else _("its venue is gone")
    if problem:
        return _("Unknown quote [%(key)s]: %(problem)s.") % {"key": ref.key,
                                                             "problem": problem}
    return ""


def market_formula_check(text: str) -> Node:
    """A direction's formula, checked as the admin saves it (FormulaError otherwise)."""
    return formula_check(text, quote_problem=quote_problem)


def reserve_formula_check(text: str) -> Node:
    """A currency's reserve formula, checked as the admin saves it; its currencies exist."""
    node = formula_check(text, quote_problem=quote_problem, currencies_allowed=True)
    codes = {n.code for n in walk(node) if isinstance(n, CurrencyRef)}
    missing = codes - set(Currency.objects.filter(code__in=codes).values_list("code", flat=True))
    if missing:
        raise FormulaError(_("Unknown currency: %(codes)s.")
                           % {"codes": ", ".join(sorted(missing))})
    return node


# ---------------------------------------------------------------------------------------------
# Quotes as formulas see them


class StoredInputs:
    """The formula's inputs from the database at `now`: quotes with their ages and problems,
    reserves and what open exchanges hold."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.sources = {source.name: source for source in RateSource.objects.all()}
        self.quotes = {(quote.source_id, quote.symbol): quote for quote in Quote.objects.all()}
        self._reserves: dict[str, Decimal] | None = None
        self._held: dict[str, Decimal] | None = None

    def quote(self, ref: QuoteRef) -> QuoteInput:
        source = self.sources.get(ref.source)
        if source is None or not source.is_enabled:
            return QuoteInput(None, problem=_("source %(source)s is off") % {"source": ref.source})
        quote = self.quotes.get((source.pk, ref.symbol))
        if quote is None:
            if source.failing:
                return QuoteInput(None, problem=_("source %(source)s failed: %(error)s")
                                  % {"source": source.name, "error": source.last_error})
            return QuoteInput(None, problem=_("no quote %(key)s yet") % {"key": ref.key})
        taken_at = quote.taken_at
        age = (self.now - taken_at).total_seconds()
        valid_until = taken_at + timedelta(seconds=source.max_age_seconds)
        value = quote.price(ref.field)
        problem = ""
        if source.failing:
            problem = _("source %(source)s failed: %(error)s") % {"source": source.name,
                                                                 "error": source.last_error}
        elif quote.problem:
            problem = f"{ref.key}: {quote.problem}"
        elif value is None:
            problem = _("%(key)s has no price") % {"key": ref.key}
        elif self.now >= valid_until:
            # When it was taken, not its age now: the reason stays the same from round to
            # round, so a hidden direction is not rewritten every 2 s (`explain` shows ages).
            problem = _("%(key)s is past its maximum age of %(max)d s (taken %(taken)s UTC)") % {
                "key": ref.key, "max": source.max_age_seconds, "taken": utc_date(taken_at)}
        return QuoteInput(value, age, problem, taken_at, valid_until)

    def currency(self, ref: CurrencyRef) -> Decimal:
        if self._reserves is None:
            self._reserves = dict(Currency.objects.values_list("code", "reserve"))
            self._held = {
                code: total or Decimal(0) for code, total in
                Exchange.objects.exclude(status__in=FINISHED).values("currency_get__code")
                .annotate(total=Sum("amount_get")).values_list("currency_get__code", "total")}
        if ref.function == "reserve":
            if ref.code not in self._reserves:
                raise FormulaError(_("Unknown currency: %(codes)s.") % {"codes": ref.code})
            return self._reserves[ref.code]
        return (self._held or {}).get(ref.code, Decimal(0))


# ---------------------------------------------------------------------------------------------
# Polling


@dataclass(frozen=True)
class Poll:
    """What one source answered this round."""

    source_id: int
    answer: dict[str, Ticker | str]
    error: str
    retry_after: float | None
    latency_ms: int
    received_at: datetime
    requests: int = 0  # made to the venue (counted against its request budget)


def wanted_symbols(formulas: Iterable[str]) -> dict[str, set[str]]:
    """Source name -> the symbols the formulas read from it (unparsable formulas skipped)."""
    wanted: dict[str, set[str]] = {}
    for text in formulas:
        try:
            refs = quote_refs(parse(text))
        except FormulaError:
            continue
        for ref in refs:
            wanted.setdefault(ref.source, set()).add(ref.symbol)
    return wanted


def source_poll(source: RateSource, symbols: Sequence[str], *,
                transport: httpx.BaseTransport | None = None) -> Poll:
    """Asks one venue for its symbols within the source's timeout, for the whole poll (a venue
    asked symbol by symbol gets what is left of it for each request); never raises."""
    venue = VENUES.get(source.venue)
    started = time.monotonic()
    deadline = started + float(source.timeout_seconds)

    requests = 0

    def within_deadline(request: httpx.Request) -> None:
        nonlocal requests
        requests += 1
        left = deadline - time.monotonic()
        if left <= 0:
            raise httpx.ConnectTimeout("the poll's time is up", request=request)
        request.extensions["timeout"] = httpx.Timeout(left).as_dict()

    answer: dict[str, Ticker | str] = {}
    error, retry_after = "", None
    if venue is None:
        error = _("unknown venue %(venue)r") % {"venue": source.venue}
    else:
        try:
            with httpx.Client(base_url=source.url or venue.url, transport=transport,
                              timeout=float(source.timeout_seconds),
                              headers={"User-Agent": USER_AGENT},
                              event_hooks={"request": [within_deadline]},
                              follow_redirects=False) as client:
                answer = venue.fetch(client, symbols)
        except RateLimited as limited:
            error, retry_after = str(limited), limited.retry_after or DEFAULT_BACKOFF_SECONDS
        except VenueError as failure:
            error = str(failure)
        except httpx.TimeoutException:
            error = _("no answer within %(seconds)s s") % {
                "seconds": number_text(source.timeout_seconds)}
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"
    return Poll(source.pk, answer, error[:300], retry_after,
                int((time.monotonic() - started) * 1000), timezone.now(), requests)


def sources_poll(*, now: datetime, wanted: dict[str, set[str]], force: bool = False,
                 transport: httpx.BaseTransport | None = None) -> dict[str, str]:
    """Polls every enabled source that formulas read and whose time has come (all of them
    with `force`), side by side; stores quotes and health. Answers each polled source's name
    with what failed in its poll ("" when it gave every symbol asked)."""
    due = [source for source in RateSource.objects.filter(is_enabled=True, name__in=wanted)
           if force or source.next_poll_at is None or source.next_poll_at <= now]
    if not force:
        # Every worker runs this duty: a source is polled by the round that claims it.
        due = [source for source in due if _poll_claim(source, now)]
    if not due:
        return {}
    with ThreadPoolExecutor(max_workers=min(len(due), 8)) as pool:
        polls = list(pool.map(lambda s: source_poll(s, sorted(wanted[s.name]),
                                                    transport=transport), due))
    return {source.name: _poll_store(source, poll)
            for source, poll in zip(due, polls, strict=True)}


def _poll_claim(source: RateSource, now: datetime) -> bool:
    """Moves the source's next poll a lease ahead, if no other round did since it was read;
    whether this round now polls it. The poll stores the real next time; a worker killed
    meanwhile leaves the source to the next round after the lease."""
    lease = timedelta(seconds=float(source.timeout_seconds) + POLL_LEASE_MARGIN_SECONDS)
    unchanged = (Q(next_poll_at__isnull=True) if source.next_poll_at is None
                 else Q(next_poll_at=source.next_poll_at))
    return bool(RateSource.objects.filter(unchanged, pk=source.pk)
                .update(next_poll_at=now + lease))


def _poll_store(source: RateSource, poll: Poll) -> str:
    """Keeps a poll's quotes and the source's health; answers what failed ("" nothing): the
    poll's error, or the symbols it gave no usable price for, each with its reason."""
    with transaction.atomic():
        source.last_attempt_at = poll.received_at
        source.last_latency_ms = poll.latency_ms
        venue = VENUES.get(source.venue)
        # The interval, unless the venue asked us to wait longer (429) or this poll's
        # requests spent the venue's request budget for longer.
        budget = poll.requests * 60 / venue.requests_per_minute if venue else 0
        wait = max(source.interval_seconds, poll.retry_after or 0, budget)
        source.next_poll_at = poll.received_at + timedelta(seconds=wait)
        if poll.error:
            source.last_error = poll.error
            logger.warning("rate source %s failed: %s", source.name, poll.error)
        else:
            source.last_error = ""
            source.last_success_at = poll.received_at
        source.save(update_fields=["last_attempt_at", "last_latency_ms", "next_poll_at",
                                   "last_error", "last_success_at"])
        existing = {q.symbol: q for q in Quote.objects.filter(source=source,
                                                             symbol__in=poll.answer)}
        tolerance = timedelta(seconds=venue.clock_tolerance_seconds if venue else 0)
        failed = [poll.error] if poll.error else []
        for symbol, ticker in poll.answer.items():
            quote = existing.get(symbol) or Quote(source=source, symbol=symbol)
            quote.fetched_at = poll.received_at
            if isinstance(ticker, str):
                # The last prices stay for the record; the problem keeps them out of use.
                quote.problem = ticker[:200]
            else:
                quote.bid = quantize(ticker.bid, RATE_PLACES)
                quote.ask = quantize(ticker.ask, RATE_PLACES)
                quote.last = quantize(ticker.last, RATE_PLACES)
                quote.venue_time, quote.problem = ticker.venue_time, ""
                ahead = (ticker.venue_time - poll.received_at if ticker.venue_time
                         else timedelta(0))
                if ahead > tolerance:
                    quote.problem = _("the venue's clock is %(seconds)d s ahead of ours") % {
                        "seconds": ahead.total_seconds()}
            if quote.problem:
                failed.append(f"{symbol}: {quote.problem}")
            quote.save()
    return " ".join("; ".join(failed).split())  # one line, whatever the venue said


# ---------------------------------------------------------------------------------------------
# Directions


@dataclass(frozen=True)
class Verdict:
    """What one round decided for a direction."""

    rate: Decimal | None  # the rate to offer; None: keep the last one, hidden
    problem: str
    accepted_rate: Decimal | None
    pending_rate: Decimal | None
    inputs_at: datetime | None
    valid_until: datetime | None


def market_rate_judge(market: MarketRate, result: Result) -> Verdict:
    """Whether a computed formula may be offered: a value, positive, not a jump beyond the
    threshold from the rate last offered, or, for the formula's first rate, from the manual
    rate it replaces (a jump waits for the operator, who confirms it)."""
    accepted, pending = market.accepted_rate, market.pending_rate
    if result.value is None:
        problem = "; ".join(dict.fromkeys(result.problems))
        if pending is not None:
            problem = f"{_jump_problem(market, pending)}; {problem}"
        return Verdict(None, problem, accepted, pending, None, None)
    rate = quantize(result.value, RATE_PLACES)
    if rate <= 0:
        return Verdict(None, _("the formula gives %(rate)s, not a positive rate")
                       % {"rate": plain(result.value)}, accepted, pending, None, None)
    reference = _jump_reference(market)
    if pending is not None or (reference and abs(rate - reference) / reference * 100
                               > market.max_jump_percent):
        return Verdict(None, _jump_problem(market, rate), accepted, rate, None, None)
    return Verdict(rate, "", rate, None, result.inputs_at, result.valid_until)


def _manual_rate(market: MarketRate) -> Decimal | None:
    """The direction's own rate on the formula's side (what the customer gets for 1 given,
    or gives for 1 received), None when it has none to compare with."""
    direction = market.direction
    give, get = direction.rate_give, direction.rate_get
    if not give or not get or give < 0 or get < 0:
        return None
    return quantize(get / give if market.side == RateSide.GET else give / get, RATE_PLACES)


def _jump_reference(market: MarketRate) -> Decimal | None:
    """What a new rate's jump is measured from: the rate last offered, or, before the
    formula's first, the manual rate it replaces (a wrong formula switched on must not
    publish a rate far from the one the operator typed)."""
    return market.accepted_rate or _manual_rate(market)


def _jump_problem(market: MarketRate, rate: Decimal) -> str:
    reference = _jump_reference(market) or rate
    jump = abs(rate - reference) / reference * 100 if reference else Decimal(0)
    values = {"jump": number_text(round(jump, 2)), "old": plain(reference), "new": plain(rate)}
    if not market.accepted_rate:
        return _("the formula's first rate is %(jump)s%% from the manual rate (from %(old)s to "
                 "%(new)s): waits for the operator's confirmation") % values
    return _("the rate jumped %(jump)s%% (from %(old)s to %(new)s): waits for the operator's "
             "confirmation") % values


def market_rate_compute(market: MarketRate, inputs: StoredInputs) -> Result:
    """The formula's value now, or the reasons it has none (a fault of the formula too)."""
    try:
        return evaluate(parse(market.formula), inputs,
                        max_spread_percent=market.max_spread_percent)
    except FormulaError as error:
        return Result(None, (error.message,), ())


def _direction_rate(market: MarketRate, rate: Decimal) -> tuple[Decimal, Decimal]:
    """(rate_give, rate_get) for the formula's value, on the side the formula says."""
    if market.side == RateSide.GIVE:
        return rate, Decimal(1)
    return Decimal(1), rate


@dataclass(frozen=True)
class Change:
    """A direction that left or came back to the export this round (for the operator)."""

    direction: str
    problem: str


# What a round's verdict is judged from: a row that no longer matches them took a stale verdict
# (its `problem` too: another worker's round, judging at the same moment, may have hidden the
# direction and told the operator already).
JUDGED_FIELDS = ("formula", "side", "max_jump_percent", "max_spread_percent", "accepted_rate",
                 "pending_rate", "problem")


def market_rates_recompute(*, now: datetime | None = None,
                           inputs: StoredInputs | None = None) -> int:
    """Recomputes every direction whose rate follows a formula and writes the outcome
    (rates, or hidden with the reason). Answers how many directions changed.

    Only what changed is written (the worker runs this every 2 s); `computed_at` of the rest
    is refreshed once a minute. A market rate the operator changed meanwhile (switched off,
    formula changed, a jump confirmed) is left to the next round, which starts from the
    operator's state."""
    now = timezone.now() if now is None else now
    inputs = StoredInputs(now) if inputs is None else inputs
    markets = list(MarketRate.objects.filter(is_enabled=True)
                   .select_related("direction__currency_give", "direction__currency_get"))
    decided = []
    for market in markets:
        verdict = market_rate_judge(market, market_rate_compute(market, inputs))
        rate_give = rate_get = None
        if verdict.rate is not None:
            rate_give, rate_get = _direction_rate(market, verdict.rate)
        outcome = DirectionMarketRate(
            direction_id=market.direction_id, rate_give=rate_give, rate_get=rate_get,
            inputs_at=verdict.inputs_at, valid_until=verdict.valid_until,
            hidden_reason=verdict.problem)
        # The operator hears of a direction that was offered and is hidden now, of one that
        # comes back, and of every jump; not of a new formula waiting for its first quotes.
        was_hidden = market.computed_at is None or bool(market.problem)
        was_offered = market.accepted_rate is not None
        newly_jumped = market.pending_rate is None and verdict.pending_rate is not None
        told = ((verdict.problem and not was_hidden) or newly_jumped
                or (not verdict.problem and was_hidden and was_offered))
        decided.append((market, verdict, outcome,
                        Change(str(market.direction), verdict.problem) if told else None))
    outcomes, changes, unchanged = [], [], []
    with transaction.atomic():
        # The operator may have switched a formula off, changed it or confirmed a jump while
        # this round computed: that row's outcome is stale and neither it nor the direction is
        # written (the operator's save wrote the direction; the next round starts from it).
        # Locked in one order, so that two rounds at once wait in turn, never deadlock.
        current = {row["pk"]: row for row in MarketRate.objects.select_for_update()
                   .filter(pk__in=[market.pk for market, *_ in decided], is_enabled=True)
                   .order_by("pk").values("pk", *JUDGED_FIELDS)}
        for market, verdict, outcome, change in decided:
            row = current.get(market.pk)
            if row is None or any(row[name] != getattr(market, name) for name in JUDGED_FIELDS):
                continue
            state = {"accepted_rate": verdict.accepted_rate,
                     "pending_rate": verdict.pending_rate, "problem": verdict.problem[:500]}
            if all(getattr(market, name) == value for name, value in state.items()):
                if market.computed_at is None or now - market.computed_at >= STATE_REFRESH:
                    unchanged.append(market.pk)
            else:
                MarketRate.objects.filter(pk=market.pk).update(**state, computed_at=now)
            outcomes.append(outcome)
            if change is not None:
                changes.append(change)
        if unchanged:
            MarketRate.objects.filter(pk__in=unchanged).update(computed_at=now)
        changed = market_rates_apply(outcomes)
        if changes:
            _tell_operator(changes)
    return changed


def _tell_operator(changes: Sequence[Change]) -> None:
    operators = [a.strip() for a in settings.OPERATOR_EMAIL.split(",") if a.strip()]
    for change in changes:
        if change.problem:
            logger.warning("direction %s hidden: %s", change.direction, change.problem)
    if not operators:
        return
    hidden = [c for c in changes if c.problem]
    back = [c for c in changes if not c.problem]
    lines = [_("Hidden from the export, no new exchanges:")] if hidden else []
    lines += [f"- {c.direction}: {c.problem}" for c in hidden]
    if back:
        lines.append(_("Back in the export:"))
        lines += [f"- {c.direction}" for c in back]
    subject = (_("Market rates: %(n)d direction(s) hidden") % {"n": len(hidden)} if hidden
               else _("Market rates: %(n)d direction(s) back") % {"n": len(back)})
    email_on_commit(subject=subject, body="\n".join(lines), to=operators)


def market_rate_confirm(*, market_rate_id: int, actor: str = "") -> MarketRate:
    """The operator accepts a jumped rate: it becomes the rate the next jump is measured
    from, and the direction returns at once if its quotes are sound."""
    with transaction.atomic():
        market = MarketRate.objects.select_for_update().filter(pk=market_rate_id).first()
        if market is None:
            raise RatesError(_("No market rate #%(id)s.") % {"id": market_rate_id})
        if market.pending_rate is None:
            raise RatesError(_("%(direction)s has no jumped rate to confirm.")
                             % {"direction": market.direction})
        logger.info("%s confirmed the rate %s of %s", actor or "someone",
                    plain(market.pending_rate), market.direction)
        market.accepted_rate, market.pending_rate = market.pending_rate, None
        # Saving recomputes the directions (the post_save hook: market_rate_changed).
        market.save(update_fields=["accepted_rate", "pending_rate", "updated_at"])
    market.refresh_from_db()
    return market


# ---------------------------------------------------------------------------------------------
# Reserves


def reserves_recompute(*, now: datetime | None = None,
                       inputs: StoredInputs | None = None) -> int:
    """Sets every currency's reserve that follows a formula (never below zero, rounded down
    to its decimals); a formula that cannot be computed keeps the reserve and says why."""
    now = timezone.now() if now is None else now
    inputs = StoredInputs(now) if inputs is None else inputs
    formulas = list(ReserveFormula.objects.filter(is_enabled=True).select_related("currency"))
    reserves, written = [], []
    for formula in formulas:
        try:
            result = evaluate(parse(formula.formula), inputs)
        except FormulaError as error:
            result = Result(None, (error.message,), ())
        problem = "; ".join(result.problems)[:500]
        if (problem != formula.problem or formula.computed_at is None
                or now - formula.computed_at >= STATE_REFRESH):
            formula.problem, formula.computed_at = problem, now
            written.append(formula)
        if result.value is not None:
            currency = formula.currency
            value = quantize_down(max(result.value, Decimal(0)), currency.decimals)
            if value != currency.reserve:
                reserves.append(ReserveChange(code=currency.code, where=str(formula),
                                              reserve=value))
    with transaction.atomic():
        if written:
            ReserveFormula.objects.bulk_update(written, ["problem", "computed_at"])
        if reserves:
            rates_apply(RatesUpdate(directions=(), reserves=tuple(reserves)))
    return len(reserves)


# ---------------------------------------------------------------------------------------------
# One round


@dataclass(frozen=True)
class SyncRound:
    """What one round did: each polled source with what failed in its poll ("" nothing), and
    how many directions and reserves changed."""

    polled: dict[str, str]
    changed: int

    @property
    def failed(self) -> dict[str, str]:
        return {name: failure for name, failure in sorted(self.polled.items()) if failure}


def rates_round(*, force: bool = False,
                transport: httpx.BaseTransport | None = None) -> SyncRound:
    """One round: poll the sources that enabled formulas read and that are due (every one
    with `force`), then recompute reserves and directions, whatever failed."""
    markets = MarketRate.objects.filter(is_enabled=True).values_list("formula", flat=True)
    reserves = ReserveFormula.objects.filter(is_enabled=True).values_list("formula", flat=True)
    if not markets and not reserves:
        return SyncRound({}, 0)
    wanted = wanted_symbols([*markets, *reserves])
    polled = sources_poll(now=timezone.now(), wanted=wanted, force=force, transport=transport)
    # One read of the quotes for both (rate formulas read no reserves, so the reserves set
    # first change nothing they see).
    inputs = StoredInputs(timezone.now())
    return SyncRound(polled, reserves_recompute(now=inputs.now, inputs=inputs)
                     + market_rates_recompute(now=inputs.now, inputs=inputs))


def rates_sync(*, force: bool = False, transport: httpx.BaseTransport | None = None) -> int:
    """One round (the worker's duty): answers how many sources were polled plus directions
    and reserves changed (0: nothing to do). A failed source is in its health and in the
    directions it hides, never an exception here."""
    done = rates_round(force=force, transport=transport)
    return len(done.polled) + done.changed


def market_rate_changed(*, direction_id: int) -> None:
    """After the operator sets, switches or removes a direction's formula: recomputed at once
    from the quotes there are (a new formula's direction stays out of the export until its
    quotes arrive, never offered at the old typed-in rate; its first rate waits for the
    operator when it jumps from that rate), or, switched off or removed, the direction's own
    rate again, shown as before."""
    if MarketRate.objects.filter(direction_id=direction_id, is_enabled=True).exists():
        market_rates_recompute()
        return
    # Switched off, the formula forgets what it offered: switched on again, its first rate is
    # measured from the manual rate it then replaces, not from a market rate of long ago.
    MarketRate.objects.filter(direction_id=direction_id).update(
        accepted_rate=None, pending_rate=None, problem="", computed_at=None)
    market_rates_apply([DirectionMarketRate(direction_id=direction_id, rate_give=None,
                                            rate_get=None, inputs_at=None, valid_until=None,
                                            hidden_reason="")])
