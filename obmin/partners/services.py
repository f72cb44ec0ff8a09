"""Partner accounts (creating, blocking, codes unique across both kinds) and their clicks'
archive (old clicks folded into daily totals). Recording a click: obmin.partners.ingest."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from obmin.lib.errors import Refused
from obmin.lib.text import normalize_email
from obmin.lib.timeutil import day_start
from obmin.partners.models import (
    Click,
    ClickDay,
    OldReferralCode,
    Partner,
    code_reserved,
    code_taken,
    code_validator,
    new_partner_code,
)
from obmin.partners.partitions import (
    Partition,
    click_partition_drop,
    click_partitions,
    partitions_lock,
)
from obmin.partners.selectors import forget_partner_code, partner_old_codes


class PartnerError(Refused):
    """A refused partner request; `field` names the input at fault (email, password)."""


def unused_code() -> str:
    while True:
        code = new_partner_code()
        if not code_taken(code):
            return code


def partner_create(*, email: str, password: str, referred_by: Partner | None = None) -> Partner:
    """Creates the user (username = the normalised e-mail) and its partner account.

    The one way a partner account is made (sign-up, `obmin partner create`): the e-mail must be
    valid and unused, the password must pass the site's password validators. `referred_by`:
    the partner whose link the new partner followed first (the second tier).
    """
    email = normalize_email(email)
    try:
        validate_email(email)
    except ValidationError:
        raise PartnerError(_("%(email)s is not a valid e-mail address.") % {"email": email},
                           "email") from None
    if not password or not password.strip():
        raise PartnerError(_("The password must not be empty."), "password")
    User = get_user_model()
    if User.objects.filter(username__iexact=email).exists():
        raise PartnerError(_("A user with e-mail %(email)s exists already.") % {"email": email},
                           "email")
    try:
        validate_password(password)
    except ValidationError as error:
        raise PartnerError(" ".join(error.messages), "password") from None
    if referred_by is not None and referred_by.is_blocked:
        referred_by = None  # a blocked partner's link attributes nothing, sign-ups included
    with transaction.atomic():
        user = User.objects.create_user(username=email, email=email, password=password)
        code = unused_code()
        return Partner.objects.create(user=user, ref_code=code, export_code=code,
                                      referred_by=referred_by)


def partner_save(*, partner: Partner) -> Partner:
    """Saves an operator's change of a partner (codes, block, export switch).

    The /ref/ redirect caches partners by referral code: the old and the new code are dropped,
    so a block or a changed code applies on the next click.
    """
    old_code = (Partner.objects.filter(pk=partner.pk).values_list("ref_code", flat=True).first()
                if partner.pk else None)
    with transaction.atomic():
        partner.save()
        if old_code and old_code != partner.ref_code:
            _keep_old_code(partner_id=partner.pk, code=old_code)
    forget_partner_code(partner.ref_code, *partner_old_codes(partner.pk))
    return partner


def _keep_old_code(*, partner_id: int, code: str) -> None:
    """The partner's previous referral code stays its own: published links keep counting."""
    OldReferralCode.objects.filter(code__iexact=code, partner_id=partner_id).delete()
    OldReferralCode.objects.create(partner_id=partner_id, code=code)


def partner_codes_retire(*, partner: Partner) -> None:
    """Keeps a partner's referral code, as it is deleted, among the old codes with no partner
    (its earlier ones stay there by themselves): a code another partner took would collect the
    deleted partner's published links. A `pre_delete` receiver, so a partner deleted with its
    user is covered too."""
    # Read before the delete (which leaves the old codes with no partner): /ref/ must stop
    # crediting the partner at once, not when its cached codes expire.
    forget_partner_code(partner.ref_code, *partner_old_codes(partner.pk))
    if partner.ref_code:
        OldReferralCode.objects.filter(code__iexact=partner.ref_code).delete()
        OldReferralCode.objects.create(partner=None, code=partner.ref_code)


def partner_delete(*, partner: Partner) -> None:
    """Deletes a partner (the operator's admin action); its code stops resolving at once
    (`partner_codes_retire`, run by the delete, drops its cached codes)."""
    partner.delete()


def partner_set_blocked(*, partner: Partner, blocked: bool) -> Partner:
    """Blocks or unblocks a partner; its link stops (or starts again) attributing at once."""
    partner.is_blocked = blocked
    partner.save(update_fields=["is_blocked"])
    forget_partner_code(partner.ref_code, *partner_old_codes(partner.pk))
    return partner


# --- sign-up by proof and the partner's own account ------------------------------------------

# How long a link sent by e-mail (sign-up, e-mail change) stays valid.
EMAIL_LINK_MAX_AGE = 3 * 24 * 3600
_SIGNUP_SALT = "obmin.partners.signup"
_EMAIL_CHANGE_SALT = "obmin.partners.email-change"


@dataclass(frozen=True)
class SignupClaim:
    """What a sign-up link proves: its reader owns `email`; `referred_by_id` is the partner
    whose link the visitor had followed when asking (second tier), if any."""

    email: str
    referred_by_id: int | None


def email_has_account(email: str) -> bool:
    """Whether a user has this e-mail (as username or address), compared normalised."""
    email = normalize_email(email)
    return get_user_model().objects.filter(
        Q(username__iexact=email) | Q(email__iexact=email)).exists()


def _valid_email(email: str) -> str:
    email = normalize_email(email)
    try:
        validate_email(email)
    except ValidationError:
        raise PartnerError(_("%(email)s is not a valid e-mail address.") % {"email": email},
                           "email") from None
    return email


def signup_token_make(*, email: str, referred_by_id: int | None = None) -> str:
    """The token of a sign-up link, sent to `email` whoever asked: following it proves the
    address. Signed, so nothing waits in the database for a link nobody follows."""
    return signing.dumps({"email": _valid_email(email), "ref": referred_by_id},
                         salt=_SIGNUP_SALT, compress=True)


def signup_token_read(*, token: str) -> SignupClaim:
    """The claim a sign-up link carries; PartnerError if it is forged, damaged or expired."""
    try:
        data = signing.loads(token, salt=_SIGNUP_SALT, max_age=EMAIL_LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise PartnerError(_("This link has expired; sign up again for a new one.")) from None
    except signing.BadSignature:
        raise PartnerError(_("This link is damaged; copy the whole link from the e-mail, or "
                             "sign up again.")) from None
    ref = data.get("ref")
    return SignupClaim(email=str(data["email"]),
                       referred_by_id=ref if isinstance(ref, int) else None)


def partner_signup_confirm(*, token: str, password: str) -> Partner:
    """Creates the account a sign-up link was sent for, with the password its reader chose."""
    claim = signup_token_read(token=token)
    referred_by = (Partner.objects.filter(pk=claim.referred_by_id).first()
                   if claim.referred_by_id else None)
    return partner_create(email=claim.email, password=password, referred_by=referred_by)


def email_change_token_make(*, partner: Partner, email: str) -> str:
    """The token of the link sent to the new address; only its reader can complete the change.

    Whether the new address is free is checked when the link is followed, not here: the
    partner asking learns nothing about other people's accounts.
    """
    email = _valid_email(email)
    if email == normalize_email(partner.user.email):
        raise PartnerError(_("This is your e-mail already."), "email")
    return signing.dumps({"partner": partner.pk, "old": normalize_email(partner.user.email),
                          "new": email}, salt=_EMAIL_CHANGE_SALT, compress=True)


def email_change_token_new_email(*, token: str) -> str:
    """The new address a change link is for ("" if the token is no change link)."""
    try:
        return str(signing.loads(token, salt=_EMAIL_CHANGE_SALT)["new"])
    except (signing.BadSignature, KeyError):
        return ""


def partner_email_change(*, partner: Partner, token: str) -> Partner:
    """Moves the partner's login and e-mail to the address the link was sent to.

    Refused when the link is forged or expired, belongs to another partner, was made before
    another change of the address, or the new address has an account meanwhile.
    """
    try:
        data = signing.loads(token, salt=_EMAIL_CHANGE_SALT, max_age=EMAIL_LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise PartnerError(_("This link has expired; ask for the change again.")) from None
    except signing.BadSignature:
        raise PartnerError(_("This link is damaged; copy the whole link from the "
                             "e-mail.")) from None
    user = partner.user
    if data.get("partner") != partner.pk or data.get("old") != normalize_email(user.email):
        raise PartnerError(_("This link is not for this account, or the e-mail has changed "
                             "since it was sent."))
    email = str(data["new"])
    User = get_user_model()
    with transaction.atomic():
        if User.objects.filter(Q(username__iexact=email) | Q(email__iexact=email)).exclude(
                pk=user.pk).exists():
            raise PartnerError(_("Another account uses %(email)s now; the e-mail was not "
                                 "changed.") % {"email": email}, "email")
        user.username = email
        user.email = email
        user.save(update_fields=["username", "email"])
    return partner


def partner_profile_update(*, partner: Partner, time_zone: str, language: str) -> Partner:
    """Saves the partner's time zone (an IANA name, "" for the browser's) and language
    ("" for the browser's; else the language of the cabinet and of the partner's e-mails)."""
    time_zone = time_zone.strip()
    if time_zone and time_zone not in available_time_zones():
        raise PartnerError(_("%(zone)s is not a time zone name such as Europe/Kyiv.")
                           % {"zone": time_zone}, "time_zone")
    if language and language not in dict(settings.LANGUAGES):
        raise PartnerError(_("Unknown language %(code)s.") % {"code": language}, "language")
    partner.time_zone = time_zone
    partner.language = language
    partner.save(update_fields=["time_zone", "language"])
    return partner


@cache
def available_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def partner_code_choose(*, partner: Partner, code: str) -> Partner:
    """The partner's own referral code (a vanity code), chosen once.

    Checked as the admin checks it (format, and no partner has it as any kind of code,
    ignoring case), and not a reserved name (`code_reserved`). The old code stays the
    partner's (`OldReferralCode`): links already published with it keep landing and counting.
    The export code is kept.
    """
    code = code.strip()
    try:
        code_validator(code)
    except ValidationError as error:
        raise PartnerError(" ".join(error.messages), "code") from None
    if code_reserved(code):
        raise PartnerError(_("The code %(code)s is reserved (a page of the site, or a name "
                             "that could pass for ours); try another.") % {"code": code},
                           "code")
    with transaction.atomic():
        locked = Partner.objects.select_for_update().get(pk=partner.pk)
        if locked.ref_code_chosen:
            raise PartnerError(_("You have chosen your referral code already; it cannot be "
                                 "changed again."), "code")
        if code_taken(code, exclude_partner_id=locked.pk):
            raise PartnerError(_("The code %(code)s is taken; try another.") % {"code": code},
                               "code")
        old_code = locked.ref_code
        try:
            with transaction.atomic():
                Partner.objects.filter(pk=locked.pk).update(ref_code=code, ref_code_chosen=True)
                _keep_old_code(partner_id=locked.pk, code=old_code)
        except IntegrityError:  # chosen by someone else at the same moment
            raise PartnerError(_("The code %(code)s is taken; try another.") % {"code": code},
                               "code") from None
    forget_partner_code(code, old_code)
    partner.ref_code, partner.ref_code_chosen = code, True
    return partner


@dataclass(frozen=True)
class ArchiveResult:
    clicks: int  # raw clicks folded into daily totals (and deleted)
    days: int  # partner-days touched
    partitions: int = 0  # whole monthly partitions dropped (PostgreSQL)


ARCHIVE_BATCH = 2000


class ArchiveRace(Exception):
    """Another archiver took some of the same clicks first; the batch is rolled back."""


def clicks_archive(*, older_than_days: int, now: datetime | None = None) -> ArchiveResult:
    """Folds clicks of the UTC days before `today - older_than_days` into `ClickDay` rows and
    deletes them.

    On PostgreSQL, each monthly partition wholly before that day is folded and dropped in one
    transaction. Then the rest (the cutoff's month so far, clicks the DEFAULT partition holds,
    and every click on other databases) is folded and deleted batch by batch, each batch in
    one transaction.

    Idempotent: clicks are counted in the same transaction that deletes them; partitions are
    dropped one archiver at a time, and a batch whose delete finds fewer rows than it counted
    (another archiver ran at the same time) is rolled back and tried again, so nothing is
    ever counted twice.
    """
    if older_than_days < 1:
        raise ValueError("older_than_days must be at least 1")
    today = (now or timezone.now()).astimezone(UTC).date()
    cutoff = day_start(today - timedelta(days=older_than_days))
    total_clicks, days = 0, set[tuple[int, date]]()
    dropped = 0
    for partition in click_partitions():
        if partition.end <= cutoff:
            folded = _archive_partition(partition)
            if folded is not None:
                total_clicks += sum(row.clicks for row in folded)
                days.update((row.partner_id, row.day) for row in folded)
                dropped += 1
    # Partner by partner, so each look-up runs on the (partner, created_at) index.
    for partner_id in Partner.objects.order_by("pk").values_list("pk", flat=True):
        while True:
            try:
                archived = _archive_batch(partner_id, cutoff)
            except ArchiveRace:
                continue
            if not archived:
                break
            total_clicks += sum(row["raw"] + row["bots"] for row in archived)
            days.update((partner_id, row["day"]) for row in archived)
    return ArchiveResult(clicks=total_clicks, days=len(days), partitions=dropped)


class FoldedDay(NamedTuple):
    partner_id: int
    day: date
    clicks: int  # every click of the day, crawlers' too


def _fold_sql(partition: str) -> str:
    """Adds a partition's clicks to the daily totals, as `_archive_batch` counts them; returns
    each partner-day with the clicks it took. Tables' names come from the models."""
    quote = connection.ops.quote_name
    days = quote(ClickDay._meta.db_table)
    return f"""
        WITH totals AS (
            SELECT partner_id, (created_at AT TIME ZONE 'UTC')::date AS day,
                   count(*) FILTER (WHERE NOT is_bot) AS clicks,
                   count(*) FILTER (WHERE NOT is_bot AND is_unique) AS unique_clicks,
                   count(*) FILTER (WHERE is_bot) AS bot_clicks
            FROM {quote(partition)} GROUP BY 1, 2
        ), added AS (
            INSERT INTO {days} AS d (partner_id, day, clicks, unique_clicks, bot_clicks)
            SELECT partner_id, day, clicks, unique_clicks, bot_clicks FROM totals
            ON CONFLICT (partner_id, day) DO UPDATE SET
                clicks = d.clicks + excluded.clicks,
                unique_clicks = d.unique_clicks + excluded.unique_clicks,
                bot_clicks = d.bot_clicks + excluded.bot_clicks
        )
        SELECT partner_id, day, clicks + bot_clicks FROM totals
    """  # noqa: S608


def _archive_partition(partition: Partition) -> list[FoldedDay] | None:
    """Folds one partition into the daily totals and drops it, in one transaction; None if
    another archiver dropped it first."""
    with transaction.atomic(), connection.cursor() as cursor:
        partitions_lock()
        if partition not in click_partitions():
            return None
        # A write into this month meanwhile (a late click: an import, a replayed spool) waits,
        # then deadlocks with the DROP and PostgreSQL rolls one side back: this archive (run
        # again later), or the click, which its writer keeps and writes again, into the
        # DEFAULT partition that the batches below archive.
        cursor.execute(f"LOCK TABLE {connection.ops.quote_name(partition.name)} IN SHARE MODE")
        cursor.execute(_fold_sql(partition.name))
        folded = [FoldedDay._make(row) for row in cursor.fetchall()]
        click_partition_drop(partition)
    return folded


def _archive_batch(partner_id: int, cutoff: datetime) -> list[dict]:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            partitions_lock()
        old = Click.objects.filter(partner_id=partner_id, created_at__lt=cutoff)
        ids = list(old.order_by("created_at", "id").values_list("pk", flat=True)[:ARCHIVE_BATCH])
        if not ids:
            return []
        # `old` again, not the ids alone: on PostgreSQL the time keeps newer partitions out.
        rows = list(
            old.filter(pk__in=ids)
            .annotate(day=TruncDate("created_at", tzinfo=UTC)).values("day")
            .annotate(raw=Count("id", filter=Q(is_bot=False)),
                      unique=Count("id", filter=Q(is_bot=False, is_unique=True)),
                      bots=Count("id", filter=Q(is_bot=True)))
            .order_by())
        for row in rows:
            totals, _created = ClickDay.objects.get_or_create(partner_id=partner_id,
                                                              day=row["day"])
            ClickDay.objects.filter(pk=totals.pk).update(
                clicks=F("clicks") + row["raw"], unique_clicks=F("unique_clicks") + row["unique"],
                bot_clicks=F("bot_clicks") + row["bots"])
        deleted, _by_model = old.filter(pk__in=ids).delete()
        if deleted != len(ids):
            raise ArchiveRace
        return rows
