"""Risk rules: signs that a reward may not be owed, each with its evidence.

`risk_evidence(exchange)` runs the operator's rules (`RiskSettings`) when a reward is about to
be credited; any hit holds the reward for review (`services.reward_sync`), none deletes it.
A hit is a JSON-able dict: `rule` (a key of `RULES`) and the facts found; `evidence_text`
says it in words, in the reader's language, on the review page and in the cabinet.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.core.cache import cache
from django.db.models import DecimalField, ExpressionWrapper, F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from obmin.exchange.models import Exchange, ExchangeStatus
from obmin.lib.ipmask import is_local, mask_ip
from obmin.lib.money import quantize
from obmin.lib.text import email_mailbox, normalize_email
from obmin.partners.models import Click, Partner, PartnerSignIn
from obmin.rewards.models import DISPOSABLE_DOMAINS, Payout, PayoutWallet, RiskSettings

Hit = dict[str, Any]

# Each rule's name, for the partner's list and the review page's filter.
RULES = {
    "self_email": gettext_lazy("the customer's e-mail is the partner's own"),
    "self_network": gettext_lazy("the customer's network is one the partner signed in from"),
    "self_device": gettext_lazy("the customer's device is one the partner signed in with"),
    "disposable_email": gettext_lazy("the partner's e-mail is a disposable mailbox"),
    "shared_wallet": gettext_lazy("the payout account serves other partners too"),
    "conversion_outlier": gettext_lazy("conversion far above the program's"),
    "turnover_outlier": gettext_lazy("turnover far above the program's"),
    "one_network": gettext_lazy("clicks from one network"),
    "banned_referrer": gettext_lazy("the customer came from a banned referrer"),
    "chain_loop": gettext_lazy("the chain of referring partners loops back"),
}
NORMS_CACHE_KEY = "obmin:risk:totals:v1"
NORMS_SECONDS = 600
CHAIN_STEPS = 50
# A norm of fewer partners says little about a partner.
OUTLIER_MIN_OTHERS = 5
NETWORK_SAMPLE = 5000


def _lines(text: str) -> set[str]:
    return {line.strip().lower().lstrip(".") for line in text.splitlines() if line.strip()}


def _self_referral(exchange: Exchange, partner: Partner) -> list[Hit]:
    hits: list[Hit] = []
    partner_email = normalize_email(partner.user.email)
    customer_email = normalize_email(exchange.email)
    if partner_email and email_mailbox(customer_email) == email_mailbox(partner_email):
        hits.append({"rule": "self_email", "customer_email": customer_email,
                     "partner_email": partner_email})
    sign_ins = PartnerSignIn.objects.filter(partner_id=partner.pk)
    network = mask_ip(exchange.user_ip or "")
    # A private or loopback address is everyone's behind one proxy: no evidence.
    if network and not is_local(network):
        seen = sign_ins.filter(network=network).order_by("-created_at").first()
        if seen is not None:
            hits.append({"rule": "self_network", "network": network,
                         "signed_in_at": seen.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                         "sign_ins": sign_ins.filter(network=network).count()})
    if exchange.user_hash:
        seen = sign_ins.filter(user_hash=exchange.user_hash).order_by("-created_at").first()
        if seen is not None:
            hits.append({"rule": "self_device", "user_hash": exchange.user_hash,
                         "signed_in_at": seen.created_at.strftime("%Y-%m-%d %H:%M:%S")})
    return hits


def _disposable(partner: Partner, settings: RiskSettings) -> list[Hit]:
    domain = normalize_email(partner.user.email).rpartition("@")[2]
    banned = set(DISPOSABLE_DOMAINS) | _lines(settings.disposable_domains)
    if domain and (domain in banned or any(domain.endswith("." + d) for d in banned)):
        return [{"rule": "disposable_email", "domain": domain}]
    return []


def _shared_wallet(partner: Partner) -> list[Hit]:
    """Accounts the partner saved as wallets or was paid to that another partner has too."""
    accounts = (set(PayoutWallet.objects.filter(partner_id=partner.pk)
                    .values_list("account", flat=True))
                | set(Payout.objects.filter(partner_id=partner.pk)
                      .values_list("account", flat=True)))
    if not accounts:
        return []
    shared: dict[str, set[str]] = {}
    for model in (PayoutWallet, Payout):
        for account, code in (model.objects.filter(account__in=accounts)
                              .exclude(partner_id=partner.pk)
                              .values_list("account", "partner__ref_code").distinct()):
            shared.setdefault(account, set()).add(code)
    return [{"rule": "shared_wallet", "account": account, "partners": sorted(codes)}
            for account, codes in sorted(shared.items())]


def _turnover(exchanges: Any) -> Decimal:
    total = exchanges.aggregate(total=Sum(ExpressionWrapper(
        F("amount_give") * F("usd_price_give"),
        output_field=DecimalField(max_digits=40, decimal_places=20))))["total"]
    return Decimal(total or 0)


def _program_totals(since: Any) -> dict[str, str]:
    """The program's successful referred exchanges, clicks, turnover and earning partners
    over the window; read over every partner, so kept in the cache for a while."""
    totals: dict[str, str] | None = cache.get(NORMS_CACHE_KEY)
    if totals is None:
        successes = Exchange.objects.filter(partner__isnull=False,
                                            status=ExchangeStatus.SUCCESS, created_at__gte=since)
        totals = {"exchanges": str(successes.count()),
                  "clicks": str(Click.objects.filter(created_at__gte=since,
                                                     is_bot=False).count()),
                  "turnover": str(_turnover(successes)),
                  "partners": str(successes.values("partner_id").distinct().count())}
        cache.set(NORMS_CACHE_KEY, totals, NORMS_SECONDS)
    return totals


def _outliers(partner: Partner, settings: RiskSettings, since: Any) -> list[Hit]:
    """The partner against the other partners: its exchanges per click, and its turnover
    against their average, judged only with enough exchanges and enough other partners."""
    successes = Exchange.objects.filter(partner_id=partner.pk, status=ExchangeStatus.SUCCESS,
                                        created_at__gte=since)
    count = successes.count()
    if count < settings.outlier_min_exchanges:
        return []
    totals = {name: Decimal(value) for name, value in _program_totals(since).items()}
    factor = settings.outlier_factor
    hits: list[Hit] = []
    clicks = Click.objects.filter(partner_id=partner.pk, created_at__gte=since,
                                  is_bot=False).count()
    other_clicks = totals["clicks"] - clicks
    norm = (totals["exchanges"] - count) / other_clicks if other_clicks > 0 else Decimal(0)
    # No clicks is no outlier: API bids and customers bound to the partner bring exchanges
    # without a click.
    if clicks and norm > 0 and Decimal(count) / clicks >= norm * factor:
        hits.append({"rule": "conversion_outlier", "exchanges": count, "clicks": clicks,
                     "percent": str(quantize(Decimal(count * 100) / clicks, 2)),
                     "norm_percent": str(quantize(norm * 100, 2)),
                     "days": settings.window_days})
    turnover = _turnover(successes)
    others = totals["partners"] - 1
    if others >= OUTLIER_MIN_OTHERS:
        norm_turnover = (totals["turnover"] - turnover) / others
        if norm_turnover > 0 and turnover >= norm_turnover * factor:
            hits.append({"rule": "turnover_outlier", "turnover": str(quantize(turnover, 2)),
                         "norm": str(quantize(norm_turnover, 2)),
                         "days": settings.window_days})
    return hits


def _one_network(partner: Partner, settings: RiskSettings, since: Any) -> list[Hit]:
    addresses = list(Click.objects.filter(partner_id=partner.pk, created_at__gte=since,
                                          is_bot=False)
                     .order_by("-created_at").values_list("ip", flat=True)[:NETWORK_SAMPLE])
    if len(addresses) < max(settings.one_network_min_clicks, 1):
        return []
    networks = Counter(mask_ip(address) for address in addresses
                       if address and not is_local(address))
    if not networks:
        return []
    network, clicks = networks.most_common(1)[0]
    percent = Decimal(clicks * 100) / len(addresses)
    if percent < settings.one_network_percent:
        return []
    return [{"rule": "one_network", "network": network, "clicks": clicks,
             "of_clicks": len(addresses), "percent": str(quantize(percent, 1)),
             "days": settings.window_days}]


def _host(url: str) -> str:
    try:
        return (urlsplit(url if "//" in url else "//" + url).hostname or "").lower()
    except ValueError:
        return ""


def _banned_referrer(exchange: Exchange, settings: RiskSettings) -> list[Hit]:
    banned = _lines(settings.banned_referrers)
    if not banned or not exchange.user_hash or exchange.partner_id is None:
        return []
    referrers = (Click.objects.filter(partner_id=exchange.partner_id,
                                      user_hash=exchange.user_hash)
                 .exclude(referrer="").values_list("referrer", flat=True).distinct()[:100])
    for referrer in referrers:
        host = _host(referrer)
        matched = next((b for b in sorted(banned) if host == b or host.endswith("." + b)), None)
        if matched:
            return [{"rule": "banned_referrer", "referrer": referrer[:200], "banned": matched}]
    return []


def _chain_loop(partner: Partner) -> list[Hit]:
    chain = [partner.pk]
    current = partner.referred_by_id
    while current is not None and len(chain) <= CHAIN_STEPS:
        if current in chain:
            codes = dict(Partner.objects.filter(pk__in=chain).values_list("pk", "ref_code"))
            return [{"rule": "chain_loop",
                     "chain": [codes.get(pk, str(pk)) for pk in [*chain, current]]}]
        chain.append(current)
        current = (Partner.objects.filter(pk=current).values_list("referred_by_id", flat=True)
                   .first())
    return []


def risk_evidence(exchange: Exchange) -> list[Hit]:
    """What the operator's rules find against crediting the exchange's reward (empty: none).
    Runs inside the status change's transaction, only when a reward is about to be credited."""
    if exchange.partner_id is None:
        return []
    settings = RiskSettings.load()
    partner = Partner.objects.select_related("user").get(pk=exchange.partner_id)
    since = timezone.now() - timedelta(days=settings.window_days)
    hits: list[Hit] = []
    if settings.self_referral:
        hits += _self_referral(exchange, partner)
    if settings.disposable_email:
        hits += _disposable(partner, settings)
    if settings.shared_wallet:
        hits += _shared_wallet(partner)
    if settings.outlier:
        hits += _outliers(partner, settings, since)
    if settings.one_network:
        hits += _one_network(partner, settings, since)
    hits += _banned_referrer(exchange, settings)
    if settings.chain_loop:
        hits += _chain_loop(partner)
    return hits


def evidence_text(hit: Hit) -> str:
    """One hit in words, for the operator."""
    rule = hit.get("rule", "")
    texts = {
        "self_email": _("The customer's e-mail %(customer_email)s is the partner's "
                        "%(partner_email)s in another form."),
        "self_network": _("The customer's network %(network)s is one the partner signed in "
                          "from (%(sign_ins)s time(s), last %(signed_in_at)s UTC)."),
        "self_device": _("The customer's device (visitor id %(user_hash)s) is one the partner "
                         "signed in with (last %(signed_in_at)s UTC)."),
        "disposable_email": _("The partner's e-mail domain %(domain)s is a disposable mailbox "
                              "service."),
        "shared_wallet": _("The payout account %(account)s also serves: %(partners_text)s."),
        "conversion_outlier": _("%(exchanges)s successful exchange(s) from %(clicks)s click(s) "
                                "over %(days)s days: %(percent)s%% against the program's "
                                "%(norm_percent)s%%."),
        "turnover_outlier": _("Turnover %(turnover)s USD over %(days)s days against "
                              "%(norm)s USD for the program's average partner."),
        "one_network": _("%(clicks)s of the partner's %(of_clicks)s clicks over %(days)s days "
                         "(%(percent)s%%) come from the network %(network)s."),
        "banned_referrer": _("The customer came from %(referrer)s (banned: %(banned)s)."),
        "chain_loop": _("Who referred whom loops back: %(chain_text)s."),
    }
    if rule not in texts:
        return str(hit)
    values = dict(hit)
    values["partners_text"] = ", ".join(hit.get("partners", []))
    values["chain_text"] = " → ".join(hit.get("chain", []))
    try:
        return texts[rule] % values
    except (KeyError, TypeError, ValueError):
        return str(hit)
