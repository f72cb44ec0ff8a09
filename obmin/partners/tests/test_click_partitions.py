"""Clicks partitioned by month on PostgreSQL: the migration, partitions created ahead, clicks
the DEFAULT partition took moved out, and the archive dropping whole old months without
changing a figure. On SQLite there is one plain table and nothing to create."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from obmin.partners.ingest import ClickData, clicks_write
from obmin.partners.models import Click, ClickDay
from obmin.partners.partitions import (
    Partition,
    click_partitions,
    click_partitions_ensure,
    partition_name,
)
from obmin.partners.selectors import partner_click_stats, partner_click_totals
from obmin.partners.services import clicks_archive

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql",
                                     reason="clicks are partitioned on PostgreSQL only")

JAN = datetime(2020, 1, 1, tzinfo=UTC)  # long before any partition the migration made
FEB, MAR, APR = (JAN.replace(month=month) for month in (2, 3, 4))
WINTER = {"start": date(2019, 12, 1), "end": date(2020, 3, 31)}


def add(partner, when, visitor="v1", bot=False, unique=True):
    return Click.objects.create(partner=partner, created_at=when, user_hash=visitor, is_bot=bot,
                                is_unique=unique and not bot, uid=uuid.uuid4())


def data(partner, when, uid=None) -> ClickData:
    return ClickData(uid=uid or uuid.uuid4().hex, created_at=when, code=partner.ref_code,
                     partner_id=partner.pk, user_hash="", is_bot=False, browser="Chrome",
                     ip="203.0.113.0", referrer="", query_string="", user_agent="",
                     seen_today=None)


def partition_of(click: Click) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM partners_click WHERE id = %s",
                       [click.pk])
        return cursor.fetchone()[0]


def months(partitions: list[Partition]) -> list[datetime]:
    return [partition.start for partition in partitions]


@postgresql_only
@pytest.mark.django_db
def test_the_click_table_is_partitioned_by_month():
    with connection.cursor() as cursor:
        cursor.execute("SELECT partstrat, pg_get_partkeydef(partrelid) FROM pg_partitioned_table "
                       "WHERE partrelid = 'partners_click'::regclass")
        assert cursor.fetchone() == ("r", "RANGE (created_at)")
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "WHERE i.inhparent = 'partners_click'::regclass")
        children = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE conrelid = 'partners_click'::regclass")
        constraints = dict(cursor.fetchall())
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'click_partner_time'")
        (index,) = cursor.fetchone()
        cursor.execute("SELECT pg_get_serial_sequence('partners_click', 'id')")
        (sequence,) = cursor.fetchone()
    this_month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    assert "partners_click_default" in children
    assert partition_name(this_month) in children
    assert len(click_partitions()) >= 3  # this month and the next two, at least
    assert constraints["partners_click_pkey"] == "PRIMARY KEY (id, created_at)"
    assert constraints["click_uid_unique"] == "UNIQUE (uid, created_at)"
    assert any(definition.startswith("FOREIGN KEY (partner_id) REFERENCES partners_partner(id)")
               for definition in constraints.values())
    assert index.endswith("(partner_id, created_at)")
    assert sequence == "public.partners_click_id_seq"


@postgresql_only
@pytest.mark.django_db
def test_partitions_are_created_ahead_once():
    assert click_partitions_ensure(now=datetime(2020, 1, 15, 8, tzinfo=UTC)) == 3
    winter = [p for p in click_partitions() if p.start < APR]
    assert winter == [Partition("partners_click_2020_01", JAN, FEB),
                      Partition("partners_click_2020_02", FEB, MAR),
                      Partition("partners_click_2020_03", MAR, APR)]
    assert click_partitions_ensure(now=datetime(2020, 1, 31, 23, tzinfo=UTC)) == 0
    assert click_partitions_ensure(now=datetime(2020, 2, 1, tzinfo=UTC)) == 1  # April


@postgresql_only
@pytest.mark.django_db
def test_a_click_of_a_month_without_partition_waits_in_default_then_moves(alice):
    early = add(alice, datetime(2020, 5, 10, 9, tzinfo=UTC))
    add(alice, datetime(2020, 4, 30, 23, 59, tzinfo=UTC))  # another month: stays
    assert partition_of(early) == "partners_click_default"

    assert click_partitions_ensure(now=datetime(2020, 5, 1, tzinfo=UTC)) == 3
    assert partition_of(early) == "partners_click_2020_05"
    moved = Click.objects.get(pk=early.pk)
    assert (moved.uid, moved.created_at, moved.partner_id) == \
        (early.uid, early.created_at, alice.pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM partners_click_default")
        assert cursor.fetchone() == (1,)
    # Keys and indexes came with the attach: a duplicate uid is still refused.
    assert clicks_write([data(alice, early.created_at, early.uid.hex)]) == 0


@postgresql_only
@pytest.mark.django_db
def test_writes_of_every_kind_reach_the_partitions(alice):
    click_partitions_ensure(now=JAN)
    when = datetime(2020, 1, 7, 10, tzinfo=UTC)
    batch = [data(alice, when + timedelta(seconds=n)) for n in range(3)]
    assert clicks_write(batch) == 3
    assert clicks_write(batch) == 0  # delivered twice, stored once
    Click.objects.bulk_create([Click(partner=alice, created_at=when, uid=uuid.UUID(batch[0].uid)),
                               Click(partner=alice, created_at=when)], ignore_conflicts=True)
    created = Click.objects.bulk_create([Click(partner=alice, created_at=when)])
    assert created[0].pk is not None
    assert Click.objects.filter(created_at__gte=JAN, created_at__lt=FEB).count() == 5
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM partners_click_2020_01")
        assert cursor.fetchone() == (5,)


@pytest.fixture
def winter(alice, bob):
    """Partitions for January to March 2020; clicks in each and one in December (DEFAULT)."""
    click_partitions_ensure(now=JAN)
    add(alice, datetime(2019, 12, 20, 12, tzinfo=UTC), "v0")
    add(alice, datetime(2020, 1, 5, 10, tzinfo=UTC), "v1")
    add(alice, datetime(2020, 1, 5, 11, tzinfo=UTC), "v1", unique=False)
    add(alice, datetime(2020, 1, 5, 12, tzinfo=UTC), "", bot=True)
    add(alice, datetime(2020, 1, 31, 23, 59, 59, tzinfo=UTC), "v2")
    add(alice, datetime(2020, 2, 1, tzinfo=UTC), "v2")
    add(alice, datetime(2020, 2, 19, 8, tzinfo=UTC), "v3")
    add(bob, datetime(2020, 1, 10, 9, tzinfo=UTC), "v9")
    return alice


@postgresql_only
@pytest.mark.django_db
def test_archive_drops_whole_old_months_without_changing_a_figure(winter, bob):
    before = partner_click_stats(partner=winter, **WINTER)
    before_bob = partner_click_stats(partner=bob, **WINTER)

    # The cutoff (10 January) falls mid-month: row by row, the partition stays.
    first = clicks_archive(older_than_days=10, now=datetime(2020, 1, 20, tzinfo=UTC))
    assert (first.clicks, first.days, first.partitions) == (4, 2, 0)
    assert partition_name(JAN) in [p.name for p in click_partitions()]
    assert partner_click_stats(partner=winter, **WINTER) == before

    # A late click of a day already archived: added to its total, never overwriting it.
    add(winter, datetime(2020, 1, 5, 18, tzinfo=UTC), "v7")
    before = partner_click_stats(partner=winter, **WINTER)

    second = clicks_archive(older_than_days=7, now=datetime(2020, 2, 20, 12, tzinfo=UTC))
    # January's partition (the late click, alice's 31st, bob's 10th) and 1 February's click.
    assert (second.clicks, second.days, second.partitions) == (4, 4, 1)
    assert months(click_partitions())[:2] == [FEB, MAR]
    assert partner_click_stats(partner=winter, **WINTER) == before
    assert partner_click_stats(partner=bob, **WINTER) == before_bob
    day = ClickDay.objects.get(partner=winter, day=date(2020, 1, 5))
    assert (day.clicks, day.unique_clicks, day.bot_clicks) == (3, 2, 1)
    assert list(Click.objects.values_list("created_at", flat=True)) == \
        [datetime(2020, 2, 19, 8, tzinfo=UTC)]

    again = clicks_archive(older_than_days=7, now=datetime(2020, 2, 20, 12, tzinfo=UTC))
    assert (again.clicks, again.days, again.partitions) == (0, 0, 0)
    assert partner_click_totals(partner=winter, **WINTER) == {"clicks": 7, "unique_clicks": 6}


@postgresql_only
@pytest.mark.django_db
def test_the_command_says_how_many_partitions_it_dropped(winter, capsys):
    call_command("clicks", "archive", "--older-than-days", str((datetime.now(UTC) - FEB).days))
    assert "1 monthly partitions dropped" in capsys.readouterr().out


@pytest.mark.skipif(connection.vendor == "postgresql", reason="covered by the tests above")
@pytest.mark.django_db
def test_without_partitions_there_is_nothing_to_create(alice, capsys):
    assert click_partitions_ensure() == 0
    assert click_partitions() == []
    call_command("clicks", "partitions")
    assert capsys.readouterr().out.strip() == "Created 0 click partitions."


@pytest.fixture
def partitions_restored(transactional_db):
    """A test that commits leaves no partition of its own behind (the flush empties tables,
    it drops none)."""
    before = {partition.name for partition in click_partitions()}
    yield
    with connection.cursor() as cursor:
        for partition in click_partitions():
            if partition.name not in before:
                cursor.execute(f"DROP TABLE {connection.ops.quote_name(partition.name)}")


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_archivers_at_the_same_time_count_each_click_once(partitions_restored, winter, bob):
    before = partner_click_stats(partner=winter, **WINTER)
    before_bob = partner_click_stats(partner=bob, **WINTER)
    start = threading.Barrier(3)
    results, errors = [], []

    def archive() -> None:
        try:
            start.wait()
            results.append(clicks_archive(older_than_days=7,
                                          now=datetime(2020, 3, 20, tzinfo=UTC)))
        except Exception as error:  # noqa: BLE001 (shown by the assertion below)
            errors.append(error)
        finally:
            connection.close()  # this thread's own

    threads = [threading.Thread(target=archive) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and len(results) == 3
    assert sum(result.clicks for result in results) == 8
    assert sum(result.partitions for result in results) == 2  # January and February
    assert partner_click_stats(partner=winter, **WINTER) == before
    assert partner_click_stats(partner=bob, **WINTER) == before_bob


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_every_click_and_id(partitions_restored, alice, bob):
    executor = MigrationExecutor(connection)
    before = [("partners", "0006_click_uid")]
    executor.migrate(before)
    # The clicks are written as the table was then (later migrations add columns).
    old_click = executor.loader.project_state(before).apps.get_model("partners", "Click")
    columns = [field.name for field in old_click._meta.concrete_fields]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_partitioned_table "
                           "WHERE partrelid = 'partners_click'::regclass")
            assert cursor.fetchone() == (0,)
        now = datetime.now(UTC)
        clicks = [old_click.objects.create(partner_id=partner.pk, created_at=when,
                                           user_hash="v1", uid=uuid.uuid4())
                  for partner, when in ((alice, now - timedelta(days=40)), (bob, now),
                                        (alice, now))]
        old_click.objects.filter(pk=clicks[-1].pk).delete()  # its id is never given again
        kept = list(old_click.objects.order_by("id").values(*columns))
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert list(Click.objects.order_by("id").values(*columns)) == kept
    assert add(alice, now).pk == clicks[-1].pk + 1
    assert partition_of(clicks[0]) == partition_name(now - timedelta(days=40))
