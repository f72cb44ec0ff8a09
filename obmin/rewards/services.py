"""Money movements of the partner program: accruing rewards, payouts, and reconciling the ledger.

Every movement goes through `_post`, which locks the partner's account row, inserts one ledger
entry and moves the cached balances in the same transaction. Lock order, everywhere: exchange
row (taken by `exchange_set_status`, and by the hold release), then the partners' account rows
in the order of their ids, then the payout row.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from obmin.audit.context import current_actor
from obmin.audit.models import AuditAction
from obmin.audit.services import audit_record
from obmin.exchange.accounts import AccountFormat, account_normalize
from obmin.exchange.models import Exchange, ExchangeStatus
from obmin.exchange.services import ExchangeError, exchange_record_reward, typed_text
from obmin.lib.errors import Refused
from obmin.lib.mail import email_on_commit
from obmin.lib.money import CENT, quantize, quantize_down
from obmin.lib.text import ascii_digits
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
    PayoutWallet,
    ReviewState,
    RewardHold,
    RewardProgram,
    RewardReview,
    Tier,
)
from obmin.rewards.risk import risk_evidence
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


def _locked_accounts(*partner_ids: int) -> dict[int, PartnerAccount]:
    """Several partners' account rows, locked in the order of their ids (so two transactions
    that both need a partner and its sponsor cannot deadlock)."""
    return {partner_id: _locked_account(partner_id) for partner_id in sorted(set(partner_ids))}


def _post(account: PartnerAccount, *, amount: Decimal, kind: str, note: str = "",
          exchange: Exchange | None = None, sequence: int | None = None,
          payout: Payout | None = None, tier: int = Tier.FIRST,
          pending_change: Decimal = ZERO) -> LedgerEntry:
    """Inserts one entry and moves the cached balances; the caller holds the account lock.

    `amount` moves the partner's total, `pending_change` the pending part of it; the payable
    balance moves by the rest.
    """
    entry = LedgerEntry.objects.create(partner_id=account.partner_id, amount=amount, kind=kind,
                                       exchange=exchange, sequence=sequence, payout=payout,
                                       tier=tier, pending_change=pending_change,
                                       note=note[:255])
    payable_change = amount - pending_change
    PartnerAccount.objects.filter(pk=account.pk).update(
        balance=F("balance") + payable_change, pending=F("pending") + pending_change)
    account.balance += payable_change
    account.pending += pending_change
    ledger_entry_posted.send(sender=LedgerEntry, entry=entry)
    return entry


def _notify(partner_id: int, compose: Callable[[], tuple[str, str]]) -> None:
    """E-mails the partner once the transaction commits, through the worker; a mail failure
    never undoes money. `compose` writes (subject, body) in the partner's language (else the
    site's), not in whatever language the request or worker thread happens to be in."""
    row = Partner.objects.filter(pk=partner_id).values_list("user__email", "language").first()
    if row and row[0]:
        with translation.override(row[1] or settings.LANGUAGE_CODE):
            subject, body = compose()
        email_on_commit(subject=subject, body=body, to=[row[0]])


# --- rewards ------------------------------------------------------------------------------


# The numbered steps of an exchange's reward: credits (odd) and what undoes them (even).
ACCRUAL_STEPS = [EntryKind.CREDIT, EntryKind.REVERSAL, EntryKind.REJECTION]


def _open_credit(exchange_id: int, tier: int) -> tuple[LedgerEntry | None, int]:
    """The tier's credit on the exchange that no reversal has undone yet (None when there is
    none), and the number the tier's next accrual step takes."""
    last = (LedgerEntry.objects
            .filter(exchange_id=exchange_id, tier=tier, kind__in=ACCRUAL_STEPS)
            .order_by("-sequence")
            .only("kind", "amount", "sequence", "partner_id", "tier", "pending_change",
                  "exchange_id").first())
    if last is None:
        return None, 1
    assert last.sequence is not None
    return (last if last.kind == EntryKind.CREDIT else None), last.sequence + 1


def _credit(account: PartnerAccount, *, exchange: Exchange, tier: int, sequence: int,
            amount: Decimal, note: str, hold_days: int, for_review: bool = False) -> LedgerEntry:
    """Posts a credit: payable at once, or pending with its place in the release queue (a
    credit held for review is pending whatever the holding period, until the operator
    decides)."""
    held = hold_days > 0 or for_review
    entry = _post(account, amount=amount, pending_change=amount if held else ZERO,
                  kind=EntryKind.CREDIT, exchange=exchange, tier=tier, sequence=sequence,
                  note=note)
    if held:
        RewardHold.objects.create(entry=entry, partner_id=account.partner_id,
                                  release_at=entry.created_at + timedelta(days=hold_days),
                                  for_review=for_review)
    return entry


def _reverse(account: PartnerAccount, credit: LedgerEntry, *, exchange: Exchange,
             sequence: int, note: str, kind: str = EntryKind.REVERSAL) -> LedgerEntry:
    """Posts the reversal (or the operator's rejection) of exactly `credit`: from pending
    when it has not been released (it was never payable), else from the payable balance."""
    released = LedgerEntry.objects.filter(exchange_id=exchange.pk, tier=credit.tier,
                                          sequence=credit.sequence,
                                          kind=EntryKind.RELEASE).exists()
    pending = ZERO if released else credit.pending_change
    if pending:
        RewardHold.objects.filter(entry_id=credit.pk).delete()
    return _post(account, amount=-credit.amount, pending_change=-pending,
                 kind=kind, exchange=exchange, tier=credit.tier, sequence=sequence, note=note)


def _sponsor_share(program: RewardProgram, exchange: Exchange,
                   reward: Decimal) -> tuple[int, Decimal] | None:
    """Who earns the second tier of this reward and how much, or None.

    The sponsor is the partner whose link the exchange's partner followed before signing up;
    one level only (the sponsor's own sponsor gets nothing from it), and the sponsor must be
    allowed to earn from this exchange itself (not blocked, not its own e-mail).
    """
    if not program.second_tier_enabled or exchange.partner_id is None:
        return None
    sponsor_id = (Partner.objects.filter(pk=exchange.partner_id)
                  .values_list("referred_by_id", flat=True).first())
    if sponsor_id is None or sponsor_id == exchange.partner_id:
        return None
    share = quantize_down(reward * program.second_tier_percent / Decimal(100), 2)
    if share < CENT or not partner_may_earn(partner_id=sponsor_id,
                                            customer_email=exchange.email):
        return None
    return sponsor_id, share


def _credit_mail(entry: LedgerEntry, account: PartnerAccount, hold_days: int,
                 for_review: bool = False) -> None:
    values = {"id": entry.exchange_id, "amount": quantize(entry.amount, 2),
              "currency": ACCOUNTING_CURRENCY, "balance": quantize(account.balance, 2),
              "days": hold_days}

    def compose() -> tuple[str, str]:
        if entry.tier == Tier.SECOND:
            subject = _("Second-tier reward credited: %(amount)s %(currency)s") % values
            body = _("A partner who signed up through your link earned a reward on exchange "
                     "#%(id)s; your share is %(amount)s %(currency)s.") % values
        else:
            subject = _("Reward credited: %(amount)s %(currency)s") % values
            body = (_("Exchange #%(id)s succeeded and earned you %(amount)s %(currency)s.")
                    % values)
        if for_review:
            body += " " + _("It is pending until the exchanger has reviewed it.")
        elif hold_days:
            body += " " + _("It is pending for %(days)s day(s), then payable.") % values
        body += " " + _("Your balance is now %(balance)s %(currency)s.") % values
        return subject, body

    _notify(account.partner_id, compose)


def reward_sync(*, exchange: Exchange) -> LedgerEntry | None:
    """Brings the exchange's reward in line with its status: the one way rewards move.

    In success and not credited: credits the reward (if any), and the sponsor's second-tier
    share when the program has it. Credited and no longer in success: posts the reversal of
    each open credit, both tiers. Otherwise nothing. Returns the referring partner's entry.
    Must run with the exchange row locked (inside `exchange_set_status`, or
    `reward_backfill`); the unique (exchange, tier, sequence) triple makes a duplicate credit
    fail even if a caller forgets.
    """
    credit, next_sequence = _open_credit(exchange.pk, Tier.FIRST)
    entry = None
    if exchange.status == ExchangeStatus.SUCCESS and credit is None and exchange.partner_id \
            and not _rejected(exchange.pk):
        program = RewardProgram.load()
        quote = reward_quote(exchange, program=program)
        if quote.amount > 0 and partner_may_earn(partner_id=exchange.partner_id,
                                                    customer_email=exchange.email):
            sponsor = _sponsor_share(program, exchange, quote.amount)
            evidence = risk_evidence(exchange)
            review = bool(evidence)
            accounts = _locked_accounts(exchange.partner_id, *([sponsor[0]] if sponsor else []))
            account = accounts[exchange.partner_id]
            entry = _credit(account, exchange=exchange, tier=Tier.FIRST,
                            sequence=next_sequence, amount=quote.amount, note=quote.rule,
                            hold_days=program.hold_days, for_review=review)
            if review:
                _hold_for_review(entry, exchange, evidence)
            _credit_mail(entry, account, program.hold_days, review)
            sponsor_credit, sponsor_sequence = _open_credit(exchange.pk, Tier.SECOND)
            # A second-tier credit is open only while the first tier's is, so none is here.
            if sponsor is not None and sponsor_credit is None:
                sponsor_id, share = sponsor
                second = _credit(
                    accounts[sponsor_id], exchange=exchange, tier=Tier.SECOND,
                    sequence=sponsor_sequence, amount=share, hold_days=program.hold_days,
                    for_review=review,
                    note=f"second tier {program.second_tier_percent.normalize():f}% of "
                         f"partner {exchange.partner_id}'s reward #{entry.pk}")
                _credit_mail(second, accounts[sponsor_id], program.hold_days, review)
    elif exchange.status != ExchangeStatus.SUCCESS and credit is not None:
        sponsor_credit, sponsor_sequence = _open_credit(exchange.pk, Tier.SECOND)
        # The reversal goes to whoever was credited, even if the exchange's partner changed.
        accounts = _locked_accounts(credit.partner_id,
                                    *([sponsor_credit.partner_id] if sponsor_credit else []))
        note = _("exchange left success: %(status)s") % {"status": exchange.status}
        entry = _reverse(accounts[credit.partner_id], credit, exchange=exchange,
                         sequence=next_sequence, note=note)
        if sponsor_credit is not None:
            _reverse(accounts[sponsor_credit.partner_id], sponsor_credit, exchange=exchange,
                     sequence=sponsor_sequence, note=note)
        # A review still open has nothing left to decide.
        RewardReview.objects.filter(entry_id=credit.pk, state=ReviewState.REVIEW).update(
            state=ReviewState.REVERSED, decided_at=timezone.now())
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


# --- review -------------------------------------------------------------------------------


class ReviewError(Refused):
    """A refused approval or rejection of a reward."""


def _rejected(exchange_id: int) -> bool:
    """Whether the operator rejected the exchange's reward: final, it earns nothing more."""
    return LedgerEntry.objects.filter(exchange_id=exchange_id, tier=Tier.FIRST,
                                      kind=EntryKind.REJECTION).exists()


def _hold_for_review(credit: LedgerEntry, exchange: Exchange, evidence: list[dict]) -> None:
    review = RewardReview.objects.create(entry=credit, partner_id=credit.partner_id,
                                         exchange=exchange, evidence=evidence)
    audit_record(action=AuditAction.REWARD_HELD, obj=review,
                 after={"credit": credit.pk, "amount": credit.amount,
                        "rules": [hit["rule"] for hit in evidence]})


def reward_approve(*, credit_id: int, reason: str = "", now: datetime | None = None
                   ) -> RewardReview:
    """The operator lets a reward held for review become payable: at once when its holding
    period is over, else when it ends (the worker's release). Its second-tier share follows."""
    now = now or timezone.now()
    exchange_id = (RewardReview.objects.filter(entry_id=credit_id)
                   .values_list("exchange_id", flat=True).first())
    if exchange_id is None:
        raise ReviewError(_("Reward #%(id)s is not in review.") % {"id": credit_id}, "credit_id")
    with transaction.atomic():
        Exchange.objects.select_for_update().filter(pk=exchange_id).first()
        review = RewardReview.objects.select_for_update().get(entry_id=credit_id)
        if review.state != ReviewState.REVIEW:
            raise ReviewError(_("Reward #%(id)s is already %(state)s.")
                              % {"id": credit_id, "state": review.get_state_display()},
                              "credit_id")
        holds = list(RewardHold.objects.filter(entry__exchange_id=exchange_id, for_review=True))
        RewardHold.objects.filter(pk__in=[hold.pk for hold in holds]).update(for_review=False)
        review.state = ReviewState.APPROVED
        review.decided_at = now
        review.decided_by = current_actor()
        review.reason = reason.strip()[:255]
        review.save(update_fields=["state", "decided_at", "decided_by", "reason"])
        audit_record(action=AuditAction.REWARD_APPROVED, obj=review,
                     before={"state": ReviewState.REVIEW},
                     after={"state": review.state, "reason": review.reason})
        for hold in holds:
            if hold.release_at <= now:
                reward_release(credit_id=hold.entry_id, now=now)
    return review


def reward_reject(*, credit_id: int, reason: str) -> RewardReview:
    """The operator decides a reward is not owed: a rejection entry undoes its credit (and
    its second-tier share) from pending, or from the payable balance once released, which a
    payout may already have taken: the partner then owes it, and later rewards repay it.
    Final: the exchange earns nothing more. Works on rewards in review and on approved ones."""
    reason = (reason or "").strip()[:255]
    if not reason:
        raise ReviewError(_("Give the reason for the rejection; the partner is told it."),
                          "reason")
    credit = (LedgerEntry.objects.filter(pk=credit_id, kind=EntryKind.CREDIT, tier=Tier.FIRST)
              .only("exchange_id").first())
    if credit is None or credit.exchange_id is None:
        raise ReviewError(_("No reward #%(id)s.") % {"id": credit_id}, "credit_id")
    with transaction.atomic():
        exchange = Exchange.objects.select_for_update().get(pk=credit.exchange_id)
        open_credit, next_sequence = _open_credit(exchange.pk, Tier.FIRST)
        if open_credit is None or open_credit.pk != credit_id:
            raise ReviewError(_("Reward #%(id)s is no longer credited: it was taken back or "
                                "rejected.") % {"id": credit_id}, "credit_id")
        sponsor_credit, sponsor_sequence = _open_credit(exchange.pk, Tier.SECOND)
        accounts = _locked_accounts(open_credit.partner_id,
                                    *([sponsor_credit.partner_id] if sponsor_credit else []))
        note = _("rejected: %(reason)s") % {"reason": reason}
        entry = _reverse(accounts[open_credit.partner_id], open_credit, exchange=exchange,
                         sequence=next_sequence, note=note, kind=EntryKind.REJECTION)
        if sponsor_credit is not None:
            _reverse(accounts[sponsor_credit.partner_id], sponsor_credit, exchange=exchange,
                     sequence=sponsor_sequence, note=note, kind=EntryKind.REJECTION)
        exchange_record_reward(exchange=exchange, amount=ZERO, accrued=False)
        review, created = RewardReview.objects.select_for_update().get_or_create(
            entry_id=credit_id, defaults={"partner_id": open_credit.partner_id,
                                          "exchange": exchange,
                                          "state": ReviewState.APPROVED})
        before = {"state": review.state, "amount": open_credit.amount}
        review.state = ReviewState.REJECTED
        review.decided_at = timezone.now()
        review.decided_by = current_actor()
        review.reason = reason
        review.save(update_fields=["state", "decided_at", "decided_by", "reason"])
        audit_record(action=AuditAction.REWARD_REJECTED, obj=review, before=before,
                     after={"state": review.state, "reason": reason,
                            "rejection_entry": entry.pk})
        _rejection_mail(entry, accounts[open_credit.partner_id], reason)
    return review


def _rejection_mail(entry: LedgerEntry, account: PartnerAccount, reason: str) -> None:
    values = {"id": entry.exchange_id, "amount": quantize(-entry.amount, 2),
              "currency": ACCOUNTING_CURRENCY, "balance": quantize(account.balance, 2),
              "reason": reason}
    owing = account.balance < 0

    def compose() -> tuple[str, str]:
        subject = _("Reward for exchange #%(id)s rejected") % values
        body = _("The exchanger rejected your reward of %(amount)s %(currency)s for exchange "
                 "#%(id)s. Reason: %(reason)s") % values
        body += "\n" + _("Your balance is now %(balance)s %(currency)s.") % values
        if owing:
            body += " " + _("You owe this amount; your next rewards repay it first.")
        return subject, body

    _notify(account.partner_id, compose)


# --- holds --------------------------------------------------------------------------------


def reward_release(*, credit_id: int, now: datetime | None = None) -> bool:
    """Moves one pending credit to payable if its holding period has ended; True if it did.

    Takes the exchange's row lock first (the order `exchange_set_status` uses), so a reversal
    and a release of one credit queue: whichever comes second sees the other. A second release
    of the same credit is refused by the database as well (one release per exchange, tier and
    credit number).
    """
    now = now or timezone.now()
    credit = (LedgerEntry.objects.filter(pk=credit_id, kind=EntryKind.CREDIT)
              .only("exchange_id", "partner_id", "tier", "sequence", "amount", "pending_change")
              .first())
    if credit is None or credit.exchange_id is None:
        return False
    with transaction.atomic():
        exchange = Exchange.objects.select_for_update().get(pk=credit.exchange_id)
        hold = RewardHold.objects.filter(entry_id=credit_id).first()
        if hold is None or hold.release_at > now or hold.for_review:
            return False  # released or reversed meanwhile, not due, or the operator's to decide
        open_credit, _next = _open_credit(exchange.pk, credit.tier)
        account = _locked_account(credit.partner_id)
        hold.delete()
        if open_credit is None or open_credit.pk != credit.pk:
            return False  # a reversal deletes the hold with it; this is only a safety net
        _post(account, amount=ZERO, pending_change=-credit.pending_change,
              kind=EntryKind.RELEASE, exchange=exchange, tier=credit.tier,
              sequence=credit.sequence,
              note=_("holding period ended for credit #%(id)s") % {"id": credit.pk})
    return True


def reward_release_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Releases the pending credits whose holding period has ended (the worker's duty, every
    minute). Returns how many it released; safe to run in several workers at once."""
    now = now or timezone.now()
    due = list(RewardHold.objects.filter(release_at__lte=now, for_review=False)
               .order_by("release_at")
               .values_list("entry_id", flat=True)[:limit])
    return sum(reward_release(credit_id=credit_id, now=now) for credit_id in due)


# --- payouts ------------------------------------------------------------------------------


def _payout_mail(payout: Payout) -> None:
    def compose() -> tuple[str, str]:
        status = PayoutStatus(payout.status).label
        subject = _("Payout #%(id)s: %(status)s") % {"id": payout.pk, "status": status}
        body = _("Your payout #%(id)s of %(amount)s %(currency)s to %(account)s (%(method)s) "
                 "is now %(status)s.") % {
            "id": payout.pk, "amount": quantize(payout.amount, payout.method.decimals),
            "currency": payout.currency_code, "account": payout.account,
            "method": payout.method.title, "status": status}
        if payout.reason:
            body += "\n" + _("Reason: %(reason)s") % {"reason": payout.reason}
        if payout.status in (PayoutStatus.REFUSED, PayoutStatus.CANCELLED):
            body += "\n" + _("%(amount)s %(currency)s are back on your balance.") % {
                "amount": quantize(payout.original_amount, 2),
                "currency": payout.original_currency_code}
        return subject, body

    _notify(payout.partner_id, compose)


def _active_method(method_id: int | str) -> PayoutMethod:
    try:
        if not ascii_digits(str(method_id)):  # int() would read "１" or "١" as 1
            raise ValueError(method_id)
        return PayoutMethod.objects.get(pk=int(method_id), is_active=True)
    except (PayoutMethod.DoesNotExist, ValueError, TypeError):
        raise PayoutError(_("Unknown payout method: %(id)s.") % {"id": method_id},
                          "method_id") from None


def _clean_account(method: PayoutMethod, account: str) -> str:
    """The account as kept, checked as exchanges check receiving accounts (`typed_text`:
    invisible characters and letters of another script among Latin ones, named)."""
    try:
        account = typed_text(account or "", field="account")
    except ExchangeError as error:
        raise PayoutError(error.message, "account") from None
    if not account:
        raise PayoutError(_("Enter the account to pay to."), "account")
    if len(account) > PAYOUT_ACCOUNT_LENGTH:
        raise PayoutError(_("The account is too long."), "account")
    normalized = account_normalize(method.account_format, account)
    if normalized is None:
        raise PayoutError(_("This is not a valid account for %(method)s: expected %(format)s.")
                          % {"method": method.title,
                             "format": AccountFormat(method.account_format).label}, "account")
    return normalized


def wallet_for(partner_id: int, method_id: int) -> PayoutWallet | None:
    """The partner's saved wallet for the method, if any (usable or still cooling off)."""
    return PayoutWallet.objects.filter(partner_id=partner_id, method_id=method_id,
                                       removed_at__isnull=True).first()


def wallet_save(*, partner: Partner, method_id: int | str, account: str) -> PayoutWallet:
    """Saves the partner's payout wallet for a method (replacing the one it had): usable after
    the program's cooling-off period, and the partner is e-mailed at once, so a stolen session
    cannot redirect a payout before the owner hears of it. Saving the same account again
    changes nothing."""
    method = _active_method(method_id)
    if partner.is_blocked:
        raise PayoutError(_("Payouts are suspended for this account; contact the exchanger."),
                          "account")
    account = _clean_account(method, account)
    now = timezone.now()
    with transaction.atomic():
        _locked_account(partner.pk)  # one change of a partner's wallets at a time
        old = wallet_for(partner.pk, method.pk)
        if old is not None and old.account == account:
            return old
        if old is not None:
            old.removed_at = now
            old.save(update_fields=["removed_at"])
        hours = RewardProgram.load().wallet_cooling_hours
        wallet = PayoutWallet.objects.create(partner=partner, method=method, account=account,
                                             created_at=now,
                                             usable_from=now + timedelta(hours=hours))
        audit_record(action=AuditAction.WALLET_CHANGED if old else AuditAction.WALLET_ADDED,
                     obj=wallet, before={"account": old.account} if old else None,
                     after={"method": method.pk, "account": account,
                            "usable_from": wallet.usable_from})
        values = {"method": method.title, "account": account,
                  "time": wallet.usable_from.strftime("%Y-%m-%d %H:%M"), "hours": hours}

        def compose() -> tuple[str, str]:
            return (_("Payout wallet saved: %(method)s") % values,
                    _("Your payout wallet for %(method)s is now %(account)s. Payouts can go to "
                      "it from %(time)s UTC (%(hours)s hours from now).") % values + "\n"
                    + _("If you did not do this, change your password and write to the "
                        "exchanger at once."))

        _notify(partner.pk, compose)
    return wallet


def wallet_remove(*, partner: Partner, wallet_id: int) -> PayoutWallet:
    """Removes one of the partner's saved wallets (another partner's is "not found")."""
    with transaction.atomic():
        wallet = (PayoutWallet.objects.select_for_update()
                  .filter(pk=wallet_id, partner_id=partner.pk, removed_at__isnull=True).first())
        if wallet is None:
            raise PayoutError(_("No such wallet."), "wallet_id")
        wallet.removed_at = timezone.now()
        wallet.save(update_fields=["removed_at"])
        audit_record(action=AuditAction.WALLET_REMOVED, obj=wallet,
                     before={"method": wallet.method_id, "account": wallet.account})
    return wallet


def _payout_wallet(partner: Partner, method: PayoutMethod, account: str) -> str:
    """The saved, cooled-off wallet a payout goes to; `account`, when given, must be it."""
    wallet = wallet_for(partner.pk, method.pk)
    if wallet is None:
        raise PayoutError(_("Save a payout wallet for %(method)s first (cabinet, Payouts); "
                            "payouts go only to saved wallets.") % {"method": method.title},
                          "account")
    if (account or "").strip() and _clean_account(method, account) != wallet.account:
        raise PayoutError(_("Payouts by %(method)s go only to your saved wallet %(account)s.")
                          % {"method": method.title, "account": wallet.account}, "account")
    if wallet.usable_from > timezone.now():
        raise PayoutError(_("Your wallet for %(method)s can be paid to from %(time)s UTC (a "
                            "new or changed wallet waits out a cooling-off period).")
                          % {"method": method.title,
                             "time": wallet.usable_from.strftime("%Y-%m-%d %H:%M")}, "account")
    return wallet.account


def payout_request(*, partner: Partner, method_id: int | str, account: str = "") -> Payout:
    """Asks for a payout of the partner's whole balance to its saved wallet for the method
    (`account`, when given, must be that wallet); holds the balance at once."""
    method = _active_method(method_id)
    if partner.is_blocked:
        raise PayoutError(_("Payouts are suspended for this account; contact the exchanger."),
                          "balance")
    account = _payout_wallet(partner, method, account)
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
        audit_record(action=AuditAction.PAYOUT_REQUESTED, obj=payout,
                     after={"status": payout.status, "method": method.pk, "account": account,
                            "amount": payout.amount, "currency": payout.currency_code,
                            "held_usd": balance})
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
        if status == PayoutStatus.PAID:
            _check_second_approval(payout, actor)
        before = {"status": payout.status}
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
        audit_record(action=PAYOUT_ACTIONS[status], obj=payout, before=before,
                     after={"status": payout.status, "reason": payout.reason,
                            "transaction_id": payout.transaction_id,
                            "note": payout.paid_note})
        _payout_mail(payout)
    return payout


PAYOUT_ACTIONS = {PayoutStatus.PAID: AuditAction.PAYOUT_PAID,
                  PayoutStatus.REFUSED: AuditAction.PAYOUT_REFUSED,
                  PayoutStatus.CANCELLED: AuditAction.PAYOUT_CANCELLED}


def payout_needs_second_approval(payout: Payout) -> bool:
    """Whether the payout holds at least the program's four-eyes amount (0: never)."""
    threshold = RewardProgram.load().four_eyes_amount
    return threshold > 0 and payout.original_amount >= threshold


def _check_second_approval(payout: Payout, actor: str) -> None:
    """Four eyes: a payout at or above the program's amount is marked paid only after a
    staff member approved it, and not by that same member."""
    if not payout_needs_second_approval(payout):
        return
    if not payout.approved_by:
        raise PayoutError(_("Payout #%(id)s needs a staff member's approval before it is paid.")
                          % {"id": payout.pk}, "payout_id")
    if payout.approved_by == actor:
        raise PayoutError(_("Payout #%(id)s was approved by you; another staff member marks "
                            "it paid.") % {"id": payout.pk}, "payout_id")


def payout_approve(*, payout_id: int, actor: str) -> Payout:
    """The first of two staff members agrees to a pending payout (four eyes); a second one
    may then mark it paid."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update().filter(pk=payout_id).first()
        if payout is None:
            raise PayoutError(_("No payout #%(id)s.") % {"id": payout_id}, "payout_id")
        if payout.status != PayoutStatus.PENDING:
            raise PayoutError(_("Payout #%(id)s is already %(status)s.")
                              % {"id": payout.pk, "status": payout.get_status_display()},
                              "payout_id")
        if payout.approved_by:
            raise PayoutError(_("Payout #%(id)s is already approved by %(actor)s.")
                              % {"id": payout.pk, "actor": payout.approved_by}, "payout_id")
        payout.approved_by = actor[:100]
        payout.approved_at = timezone.now()
        payout.save(update_fields=["approved_by", "approved_at"])
        audit_record(action=AuditAction.PAYOUT_APPROVED, obj=payout,
                     before={"approved_by": ""}, after={"approved_by": payout.approved_by})
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


def _check_balances(problems: list[str]) -> None:
    """Each partner's cached payable and pending balances against its ledger."""
    sums = {row["partner_id"]: row for row in LedgerEntry.objects.values("partner_id")
            .annotate(total=Sum("amount"), pending=Sum("pending_change"))}
    cached = {row[0]: row[1:] for row in
              PartnerAccount.objects.values_list("partner_id", "balance", "pending")}
    for partner_id in sorted(set(sums) | set(cached)):
        row = sums.get(partner_id) or {}
        # Quantized: SQLite sums decimals as floats.
        total = quantize(row.get("total") or ZERO, 2)
        pending = quantize(row.get("pending") or ZERO, 2)
        payable = total - pending
        if partner_id not in cached:
            problems.append(f"partner {partner_id}: ledger sums to {total} but there is "
                            "no balance row")
        else:
            balance, cached_pending = cached[partner_id]
            if balance != payable:
                problems.append(f"partner {partner_id}: balance {balance} != ledger sum "
                                f"{payable}")
            if cached_pending != pending:
                problems.append(f"partner {partner_id}: pending {cached_pending} != ledger "
                                f"pending {pending}")
        # A payable balance below zero is no mismatch: a reward reversed after it was paid
        # out (or taken by a pending payout) leaves the partner owing it (`partners_owing`).
        if pending < 0:
            problems.append(f"partner {partner_id}: negative pending {pending}")


def _check_accrual(where: str, entries: list[LedgerEntry],
                   releases: dict[int, LedgerEntry], problems: list[str],
                   holds_expected: dict[int, int]) -> None:
    """One exchange's steps of one tier: numbering, reversals, releases, the hold queue."""
    if [e.sequence for e in entries] != list(range(1, len(entries) + 1)):
        problems.append(f"{where}: accrual steps are not 1..{len(entries)}")
    rejections = [e.sequence for e in entries if e.kind == EntryKind.REJECTION]
    if rejections and rejections[0] != entries[-1].sequence:
        problems.append(f"{where}: steps after the rejection #{rejections[0]}")
    for index, credit in enumerate(entries[::2]):
        reversal = entries[2 * index + 1] if 2 * index + 1 < len(entries) else None
        assert credit.sequence is not None
        release = releases.pop(credit.sequence, None)
        if reversal is not None and (reversal.amount != -credit.amount
                                     or reversal.partner_id != credit.partner_id):
            problems.append(f"{where}: reversal #{reversal.pk} does not undo "
                            f"credit #{credit.pk}")
        if release is not None and (credit.pending_change <= 0
                                    or release.pending_change != -credit.pending_change
                                    or release.partner_id != credit.partner_id):
            problems.append(f"{where}: release #{release.pk} does not match credit "
                            f"#{credit.pk}")
        if release is not None and reversal is not None and release.pk > reversal.pk:
            problems.append(f"{where}: credit #{credit.pk} released after its reversal")
        if reversal is not None:
            expected = ZERO if release is not None else -credit.pending_change
            if reversal.pending_change != expected:
                problems.append(f"{where}: reversal #{reversal.pk} takes {reversal.pending_change}"
                                f" from pending, expected {expected}")
        elif credit.pending_change > 0 and release is None:
            holds_expected[credit.pk] = credit.partner_id
    for release in releases.values():
        problems.append(f"{where}: release #{release.pk} of no credit")


def ledger_check() -> list[str]:
    """Recomputes balances from the ledger and the ledger from exchanges and payouts.

    Returns one line per mismatch; empty when the books agree.
    """
    problems: list[str] = []
    _check_balances(problems)

    accruals: dict[tuple[int, int], list[LedgerEntry]] = defaultdict(list)
    releases: dict[tuple[int, int], dict[int, LedgerEntry]] = defaultdict(dict)
    for entry in (LedgerEntry.objects.filter(exchange__isnull=False)
                  .order_by("exchange_id", "tier", "sequence", "id").iterator(chunk_size=2000)):
        assert entry.exchange_id is not None and entry.sequence is not None
        key = (entry.exchange_id, entry.tier)
        if entry.kind == EntryKind.RELEASE:
            releases[key][entry.sequence] = entry
        else:
            accruals[key].append(entry)
    holds_expected: dict[int, int] = {}
    for key in sorted(set(accruals) | set(releases)):
        where = f"exchange {key[0]}" + (" (second tier)" if key[1] == Tier.SECOND else "")
        _check_accrual(where, accruals.get(key, []), releases.get(key, {}), problems,
                       holds_expected)
    holds = dict(RewardHold.objects.values_list("entry_id", "partner_id"))
    for credit_id in sorted(set(holds) | set(holds_expected)):
        if credit_id not in holds:
            problems.append(f"credit {credit_id}: pending but not waiting for release")
        elif credit_id not in holds_expected:
            problems.append(f"credit {credit_id}: waits for release but is not pending")
        elif holds[credit_id] != holds_expected[credit_id]:
            problems.append(f"credit {credit_id}: waits for release for another partner")

    exchanges = Exchange.objects.filter(
        Exists(LedgerEntry.objects.filter(exchange_id=OuterRef("pk")))
        | Q(reward_accrued=True) | ~Q(partner_reward=0))
    for exchange in exchanges.only("id", "status", "partner_id", "partner_reward",
                                   "reward_accrued").iterator(chunk_size=2000):
        # The exchange's own reward fields are the referring partner's (the first tier).
        entries = accruals.get((exchange.pk, Tier.FIRST), [])
        net = sum((e.amount for e in entries), ZERO)
        open_credit = bool(entries) and entries[-1].kind == EntryKind.CREDIT
        where = f"exchange {exchange.pk}"
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
        second = accruals.get((exchange.pk, Tier.SECOND), [])
        if second and second[-1].kind == EntryKind.CREDIT and not open_credit:
            problems.append(f"{where}: second-tier credit #{second[-1].pk} open but the "
                            "partner's own reward is not")

    payouts: dict[int, dict[str, LedgerEntry]] = defaultdict(dict)
    for entry in LedgerEntry.objects.filter(payout__isnull=False).iterator(chunk_size=2000):
        assert entry.payout_id is not None
        payouts[entry.payout_id][entry.kind] = entry
    for payout in Payout.objects.only("id", "partner_id", "status", "original_amount").iterator(
            chunk_size=2000):
        by_kind = payouts.get(payout.pk, {})
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
