"""Partner accounts (creating, blocking, codes unique across both kinds) and their clicks
(recording one, archiving old ones into daily totals)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from obmin.lib.errors import Refused
from obmin.lib.text import normalize_email
from obmin.partners.models import Click, ClickDay, Partner, code_taken, new_partner_code
from obmin.partners.selectors import forget_partner_code


class PartnerError(Refused):
    """A refused partner request; `field` names the input at fault (email, password)."""


def unused_code() -> str:
    while True:
        code = new_partner_code()
        if not code_taken(code):
            return code


def partner_create(*, email: str, password: str) -> Partner:
    """Creates the user (username = the normalised e-mail) and its partner account.

    The one way a partner account is made (sign-up, `obmin partner create`): the e-mail must be
    valid and unused, the password must pass the site's password validators.
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
    with transaction.atomic():
        user = User.objects.create_user(username=email, email=email, password=password)
        code = unused_code()
        return Partner.objects.create(user=user, ref_code=code, export_code=code)


def partner_save(*, partner: Partner) -> Partner:
    """Saves an operator's change of a partner (codes, block, export switch).

    The /ref/ redirect caches partners by referral code: the old and the new code are dropped,
    so a block or a changed code applies on the next click.
    """
    old_code = (Partner.objects.filter(pk=partner.pk).values_list("ref_code", flat=True).first()
                if partner.pk else None)
    partner.save()
    forget_partner_code(partner.ref_code, old_code or "")
    return partner


def partner_delete(*, partner: Partner) -> None:
    """Deletes a partner (the operator's admin action); its code stops resolving at once."""
    code = partner.ref_code
    partner.delete()
    forget_partner_code(code)


def partner_set_blocked(*, partner: Partner, blocked: bool) -> Partner:
    """Blocks or unblocks a partner; its link stops (or starts again) attributing at once."""
    partner.is_blocked = blocked
    partner.save(update_fields=["is_blocked"])
    forget_partner_code(partner.ref_code)
    return partner


CLICK_COLUMNS = ("partner", "created_at", "browser", "ip", "referrer", "user_hash",
                 "query_string", "user_agent", "is_bot", "is_unique")


@cache
def _click_insert_sql(vendor: str, own_transaction: bool) -> str:
    quote = connection.ops.quote_name
    fields = {field.name: field for field in Click._meta.concrete_fields}
    columns = ", ".join(quote(fields[name].column) for name in CLICK_COLUMNS)
    marks = ", ".join(["%s"] * len(CLICK_COLUMNS))
    # Names come from the model, values go as parameters.
    sql = f"INSERT INTO {quote(Click._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
    if vendor == "postgresql" and own_transaction:
        # Without waiting for the WAL flush. The one query string is one transaction, so SET
        # LOCAL applies to this INSERT only (several statements with parameters in one string
        # need psycopg's client-side binding, Django's default). The same promise as SQLite's
        # WAL with synchronous=NORMAL: a click answered is committed and survives any crash
        # of the app; only a crash of the database server itself may lose the last fraction
        # of a second of clicks. Waiting for the flush made a click cost ten times a page view.
        sql = "SET LOCAL synchronous_commit TO OFF; " + sql
    return sql


def click_record(
    *,
    partner_id: int,
    created_at: datetime,
    user_hash: str,
    is_bot: bool,
    browser: str,
    ip: str,
    referrer: str,
    query_string: str,
    user_agent: str,
    seen_today: bool | None = None,
) -> None:
    """Stores one click. Values must already be cleaned and cut to their fields' lengths.

    `seen_today`: whether this visitor already clicked this partner's link on this UTC day,
    when the caller knows it (from the visitor's cookies); None looks it up.

    One plain INSERT rather than `Click.objects.create`: this runs on every click of paid
    traffic, and the ORM's per-object work (signals, field preparation, RETURNING the id
    nobody reads) cost several times the INSERT itself. The columns come from the model.
    """
    if is_bot:
        is_unique = False
    elif not user_hash:
        is_unique = True
    else:
        if seen_today is None:
            day_start = datetime.combine(created_at.astimezone(UTC).date(), time.min, tzinfo=UTC)
            seen_today = Click.objects.filter(partner_id=partner_id, user_hash=user_hash,
                                              created_at__gte=day_start, is_bot=False).exists()
        is_unique = not seen_today
    with connection.cursor() as cursor:
        sql = _click_insert_sql(
            connection.vendor,
            not connection.in_atomic_block
            and not connection.settings_dict["OPTIONS"].get("server_side_binding", False))
        cursor.execute(sql, [
            partner_id, connection.ops.adapt_datetimefield_value(created_at), browser, ip,
            referrer, user_hash, query_string, user_agent, is_bot, is_unique])


@dataclass(frozen=True)
class ArchiveResult:
    clicks: int  # raw clicks folded into daily totals (and deleted)
    days: int  # partner-days touched


ARCHIVE_BATCH = 2000


class ArchiveRace(Exception):
    """Another archiver took some of the same clicks first; the batch is rolled back."""


def clicks_archive(*, older_than_days: int, now: datetime | None = None) -> ArchiveResult:
    """Folds clicks of the UTC days before `today - older_than_days` into `ClickDay` rows and
    deletes them, batch by batch, each batch in one transaction.

    Idempotent: a click is counted in the same transaction that deletes it, and a batch whose
    delete finds fewer rows than it counted (another archiver ran at the same time) is rolled
    back and tried again, so nothing is ever counted twice.
    """
    if older_than_days < 1:
        raise ValueError("older_than_days must be at least 1")
    today = (now or timezone.now()).astimezone(UTC).date()
    cutoff = datetime.combine(today - timedelta(days=older_than_days), time.min, tzinfo=UTC)
    total_clicks, days = 0, set[tuple[int, date]]()
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
    return ArchiveResult(clicks=total_clicks, days=len(days))


def _archive_batch(partner_id: int, cutoff: datetime) -> list[dict]:
    with transaction.atomic():
        ids = list(Click.objects.filter(partner_id=partner_id, created_at__lt=cutoff)
                   .order_by("created_at", "id").values_list("pk", flat=True)[:ARCHIVE_BATCH])
        if not ids:
            return []
        rows = list(
            Click.objects.filter(pk__in=ids)
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
        deleted, _by_model = Click.objects.filter(pk__in=ids).delete()
        if deleted != len(ids):
            raise ArchiveRace
        return rows
