"""Money movements of the partner program: accruing rewards, payouts, and reconciling the ledger.

Every movement goes through `_post`, which locks the partner's account row, inserts one ledger
entry and moves the cached balance in the same transaction. Lock order, everywhere: exchange
row (taken by `exchange_set_status`), then the partner's account row, then the payout row.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from obmin.exchange.models import Exchange, ExchangeStatus
from obmin.exchange.services import exchange_record_reward
from obmin.lib.errors import Refused
from obmin.lib.mail import email_on_commit
from obmin.lib.money import quantize
from obmin.partners.models import Partner
from obmin.partners.selectors import partner_may_earn
from obmin.rewards.hooks import ledger_entry_posted
from obmin.rewards.models import (
    ACCOUNTING_CURRENCY,
    PAYOUT_ACCOUNT_LENGTH,
    EntryKind,
    LedgerEntry,
    PartnerAccount,
    Payout,
    PayoutMethod,
    PayoutStatus,
    RewardProgram,
)
from obmin.rewards.selectors import payout_amount, reward_quote

logger = logging.getLogger(__name__)
ZERO = Decimal(0)


class PayoutError(Refused):
    """A refused payout request or change; `field` names the API parameter at fault."""


# --- the ledger ---------------------------------------------------------------------------


def _locked_account(partner_id: int) -> PartnerAccount:
    """The partner's account row, locked until the transaction ends (created on first use)."""
    account = PartnerAccount.objects.select_for_update().filter(partner_id=partner_id).first()
    if account is None:
        # A concurrent first use may create it too; get_or_create then finds theirs.
        PartnerAccount.objects.get_or_create(partner_id=partner_id)
        account = PartnerAccount.objects.select_for_update().get(partner_id=partner_id)
    return account


def _post(account: PartnerAccount, *, amount: Decimal, kind: str, note: str = "",
          exchange: Exchange | None = None, sequence: int | None = None,
          payout: Payout | None = None) -> LedgerEntry:
    """Inserts one entry and moves the cached balance; the caller holds the account lock."""
    entry = LedgerEntry.objects.create(partner_id=account.partner_id, amount=amount, kind=kind,
                                       exchange=exchange, sequence=sequence, payout=payout,
                                       note=note[:255])
    PartnerAccount.objects.filter(pk=account.pk).update(balance=F("balance") + amount)
    account.balance += amount
    ledger_entry_posted.send(sender=LedgerEntry, entry=entry)
    return entry


def _notify(partner_id: int, subject: str, body: str) -> None:
    """E-mails the partner once the transaction commits, through the worker; a mail failure
    never undoes money."""
    email = Partner.objects.filter(pk=partner_id).values_list("user__email", flat=True).first()
    if email:
        email_on_commit(subject=subject, body=body, to=[email])


# --- rewards ------------------------------------------------------------------------------


def reward_sync(*, exchange: Exchange) -> LedgerEntry | None:
    """Brings the exchange's reward in line with its status: the one way rewards move.

    In success and not credited: credits the reward (if any). Credited and no longer in
    success: posts the reversal. Otherwise nothing. Must run with the exchange row locked
    (inside `exchange_set_status`, or `reward_backfill`); the unique (exchange, sequence) pair
    makes a duplicate credit fail even if a caller forgets.
    """
    last = (LedgerEntry.objects.filter(exchange_id=exchange.pk)
            .order_by("-sequence").only("kind", "amount", "sequence", "partner_id").first())
    credited = last is not None and last.kind == EntryKind.CREDIT
    next_sequence = (last.sequence or 0) + 1 if last else 1
    entry = None
    if exchange.status == ExchangeStatus.SUCCESS and not credited and exchange.partner_id:
        quote = reward_quote(exchange)
        if quote.amount > 0 and partner_may_earn(partner_id=exchange.partner_id,
                                                    customer_email=exchange.email):
            account = _locked_account(exchange.partner_id)
            entry = _post(account, amount=quote.amount, kind=EntryKind.CREDIT, exchange=exchange,
                          sequence=next_sequence, note=quote.rule)
            _notify(exchange.partner_id, _("Reward credited: %(amount)s %(currency)s")
                    % {"amount": quantize(quote.amount, 2), "currency": ACCOUNTING_CURRENCY},
                    _("Exchange #%(id)s succeeded and earned you %(amount)s %(currency)s. "
                      "Your balance is now %(balance)s %(currency)s.")
                    % {"id": exchange.pk, "amount": quantize(quote.amount, 2),
                       "currency": ACCOUNTING_CURRENCY, "balance": quantize(account.balance, 2)})
    elif exchange.status != ExchangeStatus.SUCCESS and credited:
        assert last is not None
        # The reversal goes to whoever was credited, even if the exchange's partner changed.
        account = _locked_account(last.partner_id)
        entry = _post(account, amount=-last.amount, kind=EntryKind.REVERSAL, exchange=exchange,
                      sequence=next_sequence,
                      note=_("exchange left success: %(status)s") % {"status": exchange.status})
    if entry is not None:
        accrued = entry.kind == EntryKind.CREDIT
        exchange_record_reward(exchange=exchange, amount=entry.amount if accrued else ZERO,
                               accrued=accrued)
    return entry


def reward_sync_on_status_change(sender: object, *, exchange: Exchange, **kwargs: object) -> None:
    """Receiver of `exchange_status_changed`, connected in `RewardsConfig.ready`."""
    reward_sync(exchange=exchange)


def reward_backfill() -> int:
    """Accrues every referred exchange whose reward is out of line with its status, once.

    For data that existed before the program (the demo's past exchanges) or after a receiver
    was off. Safe to run any number of times. Returns how many entries it posted.
    """
    posted = 0
    candidates = (Exchange.objects.filter(partner__isnull=False, status=ExchangeStatus.SUCCESS,
                                          reward_accrued=False)
                  | Exchange.objects.filter(reward_accrued=True)
                  .exclude(status=ExchangeStatus.SUCCESS))
    for exchange_id in candidates.order_by("id").values_list("pk", flat=True):
        with transaction.atomic():
            exchange = Exchange.objects.select_for_update().get(pk=exchange_id)
            posted += reward_sync(exchange=exchange) is not None
    return posted


# --- payouts ------------------------------------------------------------------------------


def _payout_mail(payout: Payout) -> None:
    status = PayoutStatus(payout.status).label
    subject = _("Payout #%(id)s: %(status)s") % {"id": payout.pk, "status": status}
    body = _("Your payout #%(id)s of %(amount)s %(currency)s to %(account)s (%(method)s) is now "
             "%(status)s.") % {
        "id": payout.pk, "amount": quantize(payout.amount, payout.method.decimals),
        "currency": payout.currency_code, "account": payout.account,
        "method": payout.method.title, "status": status}
    if payout.reason:
        body += "\n" + _("Reason: %(reason)s") % {"reason": payout.reason}
    if payout.status in (PayoutStatus.REFUSED, PayoutStatus.CANCELLED):
        body += "\n" + _("%(amount)s %(currency)s are back on your balance.") % {
            "amount": quantize(payout.original_amount, 2),
            "currency": payout.original_currency_code}
    _notify(payout.partner_id, subject, body)


def payout_request(*, partner: Partner, method_id: int | str, account: str) -> Payout:
    """Asks for a payout of the partner's whole balance; holds the balance at once."""
    try:
        method = PayoutMethod.objects.get(pk=int(method_id), is_active=True)
    except (PayoutMethod.DoesNotExist, ValueError, TypeError):
        raise PayoutError(_("Unknown payout method: %(id)s.") % {"id": method_id},
                          "method_id") from None
    if partner.is_blocked:
        raise PayoutError(_("Payouts are suspended for this account; contact the exchanger."),
                          "balance")
    account = (account or "").strip()
    if not account:
        raise PayoutError(_("Enter the account to pay to."), "account")
    if any(ord(char) < 32 or ord(char) == 127 for char in account):
        raise PayoutError(_("The account contains control characters."), "account")
    if len(account) > PAYOUT_ACCOUNT_LENGTH:
        raise PayoutError(_("The account is too long."), "account")
    with transaction.atomic():
        # The lock makes a second request wait, then see the balance this one held.
        partner_account = _locked_account(partner.pk)
        balance = partner_account.balance
        minimum = max(RewardProgram.load().min_payout, method.min_amount)
        if balance < minimum:
            raise PayoutError(
                _("Your balance is %(balance)s %(currency)s; a payout needs at least "
                  "%(min)s %(currency)s.")
                % {"balance": quantize(balance, 2), "min": quantize(minimum, 2),
                   "currency": ACCOUNTING_CURRENCY}, "balance")
        amount = payout_amount(method, balance)
        if amount <= 0:
            raise PayoutError(_("The balance does not cover this method's commission."),
                              "balance")
        now = timezone.now()
        payout = Payout.objects.create(
            partner=partner, created_at=now, method=method, account=account, amount=amount,
            currency_code=method.currency_code, original_amount=balance,
            original_currency_code=ACCOUNTING_CURRENCY, status=PayoutStatus.PENDING,
            status_changed_at=now, actor="partner")
        _post(partner_account, amount=-balance, kind=EntryKind.PAYOUT_HOLD, payout=payout,
              note=_("payout #%(id)s requested") % {"id": payout.pk})
        _payout_mail(payout)
    return payout


def _change_payout(payout_id: int, status: PayoutStatus, *, actor: str, reason: str = "",
                   partner: Partner | None = None, transaction_id: str = "",
                   paid_note: str = "") -> Payout:
    """Moves a pending payout to `status`; a refusal or cancellation returns the hold."""
    partner_id = (Payout.objects.filter(pk=payout_id).values_list("partner_id", flat=True)
                  .first())
    if partner_id is None or (partner is not None and partner_id != partner.pk):
        raise PayoutError(_("No payout #%(id)s.") % {"id": payout_id}, "payout_id")
    with transaction.atomic():
        account = _locked_account(partner_id)
        payout = Payout.objects.select_for_update().select_related("method").get(pk=payout_id)
        if payout.status != PayoutStatus.PENDING:
            raise PayoutError(_("Payout #%(id)s is already %(status)s.")
                              % {"id": payout.pk, "status": payout.get_status_display()},
                              "payout_id")
        payout.status = status
        payout.status_changed_at = timezone.now()
        payout.actor = actor[:100]
        payout.reason = reason[:255]
        payout.transaction_id = transaction_id.strip()[:200]
        payout.paid_note = paid_note.strip()[:255]
        payout.save(update_fields=["status", "status_changed_at", "actor", "reason",
                                   "transaction_id", "paid_note"])
        note = _("payout #%(id)s %(status)s") % {"id": payout.pk, "status": status.label}
        if status in (PayoutStatus.REFUSED, PayoutStatus.CANCELLED):
            _post(account, amount=payout.original_amount, kind=EntryKind.PAYOUT_RELEASE,
                  payout=payout, note=note)
        elif status == PayoutStatus.PAID:
            _post(account, amount=Decimal(0), kind=EntryKind.PAYOUT_PAID, payout=payout,
                  note=note)
        _payout_mail(payout)
    return payout


def payout_cancel(*, partner: Partner, payout_id: int) -> Payout:
    """The partner withdraws its own pending request; the held balance comes back."""
    return _change_payout(payout_id, PayoutStatus.CANCELLED, actor="partner", partner=partner)


def payout_mark_paid(*, payout_id: int, actor: str = "", transaction_id: str = "",
                     note: str = "") -> Payout:
    """The operator has sent the money; the hold becomes final. The transaction id and the
    note are kept on the payout and shown to the partner."""
    return _change_payout(payout_id, PayoutStatus.PAID, actor=actor,
                          transaction_id=transaction_id, paid_note=note)


def payout_refuse(*, payout_id: int, actor: str = "", reason: str = "") -> Payout:
    """The operator refuses the payout; the held balance comes back."""
    return _change_payout(payout_id, PayoutStatus.REFUSED, actor=actor, reason=reason)


# --- reconciliation -----------------------------------------------------------------------


def ledger_check() -> list[str]:
    """Recomputes balances from the ledger and the ledger from exchanges and payouts.

    Returns one line per mismatch; empty when the books agree.
    """
    problems: list[str] = []
    sums = {row["partner_id"]: row["total"] for row in
            LedgerEntry.objects.values("partner_id").annotate(total=Sum("amount"))}
    cached = dict(PartnerAccount.objects.values_list("partner_id", "balance"))
    for partner_id in sorted(set(sums) | set(cached)):
        # Quantized: SQLite sums decimals as floats.
        ledger_sum = quantize(sums.get(partner_id) or ZERO, 2)
        balance = cached.get(partner_id)
        if balance is None:
            problems.append(f"partner {partner_id}: ledger sums to {ledger_sum} but there is "
                            "no balance row")
        elif balance != ledger_sum:
            problems.append(f"partner {partner_id}: balance {balance} != ledger sum {ledger_sum}")
        if ledger_sum < 0:
            problems.append(f"partner {partner_id}: negative balance {ledger_sum}")

    accruals: dict[int, list[LedgerEntry]] = defaultdict(list)
    for entry in (LedgerEntry.objects.filter(exchange__isnull=False)
                  .order_by("exchange_id", "sequence").iterator(chunk_size=2000)):
        assert entry.exchange_id is not None
        accruals[entry.exchange_id].append(entry)
    exchanges = Exchange.objects.filter(
        Exists(LedgerEntry.objects.filter(exchange_id=OuterRef("pk")))
        | Q(reward_accrued=True) | ~Q(partner_reward=0))
    for exchange in exchanges.only("id", "status", "partner_id", "partner_reward",
                                   "reward_accrued").iterator(chunk_size=2000):
        entries = accruals.get(exchange.pk, [])
        net = sum((e.amount for e in entries), ZERO)
        open_credit = bool(entries) and entries[-1].kind == EntryKind.CREDIT
        where = f"exchange {exchange.pk}"
        if [e.sequence for e in entries] != list(range(1, len(entries) + 1)):
            problems.append(f"{where}: accrual steps are not 1..{len(entries)}")
        for credit, reversal in zip(entries[::2], entries[1::2], strict=False):
            if reversal.amount != -credit.amount or reversal.partner_id != credit.partner_id:
                problems.append(f"{where}: reversal #{reversal.pk} does not undo "
                                f"credit #{credit.pk}")
        expected_net = entries[-1].amount if open_credit else ZERO
        if net != expected_net:
            problems.append(f"{where}: ledger net {net}, expected {expected_net}")
        if open_credit and exchange.status != ExchangeStatus.SUCCESS:
            problems.append(f"{where}: credited but {exchange.status}")
        if exchange.reward_accrued != open_credit:
            problems.append(f"{where}: accrued flag {int(exchange.reward_accrued)} but ledger "
                            f"says {int(open_credit)}")
        if exchange.partner_reward != net:
            problems.append(f"{where}: partner_reward {exchange.partner_reward} != ledger net "
                            f"{net}")

    holds: dict[int, dict[str, LedgerEntry]] = defaultdict(dict)
    for entry in LedgerEntry.objects.filter(payout__isnull=False).iterator(chunk_size=2000):
        assert entry.payout_id is not None
        holds[entry.payout_id][entry.kind] = entry
    for payout in Payout.objects.only("id", "partner_id", "status", "original_amount").iterator(
            chunk_size=2000):
        by_kind = holds.get(payout.pk, {})
        hold = by_kind.get(EntryKind.PAYOUT_HOLD)
        release = by_kind.get(EntryKind.PAYOUT_RELEASE)
        where = f"payout {payout.pk}"
        if hold is None or hold.amount != -payout.original_amount \
                or hold.partner_id != payout.partner_id:
            problems.append(f"{where}: hold entry missing or not -{payout.original_amount}")
        returned = payout.status in (PayoutStatus.REFUSED, PayoutStatus.CANCELLED)
        if returned and (release is None or release.amount != payout.original_amount):
            problems.append(f"{where}: {PayoutStatus(payout.status).name.lower()} but the hold "
                            "was not returned")
        if not returned and release is not None:
            problems.append(f"{where}: {PayoutStatus(payout.status).name.lower()} but the hold "
                            "was returned")
        paid_entry = EntryKind.PAYOUT_PAID in by_kind
        if (payout.status == PayoutStatus.PAID) != paid_entry:
            problems.append(f"{where}: {PayoutStatus(payout.status).name.lower()} but the ledger "
                            f"{'has' if paid_entry else 'has no'} payout-paid entry")
    return problems
