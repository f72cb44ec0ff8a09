"""The cabinet's report pages and their CSV: periods, the partner's time zone, filters, paging,
isolation (bob never gets alice's rows), and the statistics service, the API and CSV agreeing."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from obmin.exchange.models import Exchange
from obmin.exchange.services import exchange_create, exchange_set_status
from obmin.lib.timeutil import to_unix
from obmin.partner_api.services import apikey_create
from obmin.partners.models import Click
from obmin.stats import selectors
from obmin.stats.periods import Period
from obmin.stats.services import clicks_roll_up

pytestmark = pytest.mark.django_db


def click(partner, moment, **fields):
    values = {"uid": uuid.uuid4(), "browser": "Chrome 120", "ip": "203.0.113.0",
              "referrer": "https://www.bestchange.com/", "is_unique": True}
    return Click.objects.create(partner=partner, created_at=moment, **{**values, **fields})


def referred(direction, partner, amount="100", success=True, moment=None, **fields):
    exchange = exchange_create(direction=direction, amount_give=Decimal(amount),
                               email="customer@example.org", account_get="acc",
                               partner_id=partner.pk)
    if fields or moment:
        Exchange.objects.filter(pk=exchange.pk).update(
            **fields, **({"created_at": moment} if moment else {}))
    if success:
        exchange_set_status(exchange_id=exchange.pk, status="success")
    exchange.refresh_from_db()
    return exchange


def rows_of(response):
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_every_report_page_answers_with_its_period(client, alice):
    click(alice, timezone.now() - timedelta(hours=1), sub1="fb")
    client.force_login(alice.user)
    for path in ("/cabinet/", "/cabinet/stats/", "/cabinet/clicks/", "/cabinet/exchanges/",
                 "/cabinet/ledger/", "/cabinet/stats/?by=referrer",
                 "/cabinet/stats/?period=custom&from=2025-01-01&to=2025-12-31",
                 "/cabinet/clicks/?period=today&unique=yes&sub1=fb"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "stats.js" in response.content.decode()
    for kind in ("today", "yesterday", "7d", "30d", "this_month", "last_month"):
        assert client.get(f"/cabinet/stats/?period={kind}").status_code == 200


def test_bad_range_falls_back_with_a_reason(client, alice):
    client.force_login(alice.user)
    html = client.get("/cabinet/stats/?period=custom&from=2026-05-02&to=2026-05-01"
                      ).content.decode()
    assert "before its start" in html


def test_partner_time_zone_moves_the_day(client, alice):
    alice.time_zone = "Europe/Kyiv"
    alice.save()
    click(alice, datetime(2026, 6, 10, 23, 30, tzinfo=UTC), sub1="late")
    clicks_roll_up(settle=False)
    client.force_login(alice.user)
    day = client.get("/cabinet/stats/csv?period=custom&from=2026-06-11&to=2026-06-11&by=day")
    assert rows_of(day)[1][:3] == ["2026-06-11", "1", "1"]
    response = client.get("/cabinet/clicks/csv?period=custom&from=2026-06-11&to=2026-06-11")
    rows = rows_of(response)
    assert rows[1][0] == "2026-06-11 02:30:00"  # the partner's time, not UTC
    # Without a zone of its own, the browser's (cookie) is used; a bad name means UTC.
    alice.time_zone = ""
    alice.save()
    client.cookies["tz"] = "Europe/Kyiv"
    assert len(rows_of(client.get(
        "/cabinet/clicks/csv?period=custom&from=2026-06-11&to=2026-06-11"))) == 2
    client.cookies["tz"] = "Not/AZone"
    assert len(rows_of(client.get(
        "/cabinet/clicks/csv?period=custom&from=2026-06-11&to=2026-06-11"))) == 1


def test_csv_has_its_header_when_empty(client, alice):
    client.force_login(alice.user)
    for path, first in (("/cabinet/clicks/csv", "time"), ("/cabinet/exchanges/csv", "id"),
                        ("/cabinet/ledger/csv", "id"), ("/cabinet/payouts/csv", "id"),
                        ("/cabinet/stats/csv?by=sub1", "sub1")):
        response = client.get(path)
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response.streaming
        rows = rows_of(response)
        assert len(rows) == 1 and rows[0][0] == first, path
    # The day series lists every day of the period, each with zeros.
    days = rows_of(client.get("/cabinet/stats/csv?period=7d"))
    assert days[0][0] == "day" and len(days) == 8 and {r[1] for r in days[1:]} == {"0"}


def test_downloads_hold_the_days_the_page_showed(client, alice, midday):
    # "Today" viewed at 23:59 and downloaded at 00:00 must not bring the new, empty day: the
    # CSV links name the page's days, the links between pages keep "today".
    alice.time_zone = "Europe/Kyiv"
    alice.save()
    client.force_login(alice.user)
    today = timezone.now().astimezone(ZoneInfo("Europe/Kyiv")).date()
    stats = client.get("/cabinet/stats/?period=today&by=sub1").content.decode()
    clicks = client.get("/cabinet/clicks/?period=7d&sub1=fb&unique=yes").content.decode()
    days = f"period=custom&amp;from={today}&amp;to={today}"
    assert f'href="/cabinet/stats/csv?{days}&amp;by=sub1"' in stats
    assert f'href="/cabinet/stats/csv?{days}&amp;by=day"' in stats
    assert 'href="/cabinet/clicks/?period=today"' in stats
    week = f"period=custom&amp;from={today - timedelta(days=6)}&amp;to={today}"
    assert f'href="/cabinet/clicks/csv?{week}&amp;sub1=fb&amp;unique=yes"' in clicks
    response = client.get(f"/cabinet/clicks/csv?{week.replace('&amp;', '&')}&sub1=fb")
    assert response["Content-Disposition"].endswith(
        f'clicks-{today - timedelta(days=6)}-{today}.csv"')
    yesterday = today - timedelta(days=1)
    for page, filters in (("exchanges", "status=success"), ("ledger", "kind=credit")):
        html = client.get(f"/cabinet/{page}/?period=yesterday&{filters}").content.decode()
        assert (f'href="/cabinet/{page}/csv?period=custom&amp;from={yesterday}&amp;'
                f'to={yesterday}&amp;{filters}"') in html


def test_csv_neutralises_formulas_and_keeps_unicode(client, alice):
    # The last 7 days, not today: minutes after midnight a click made 5 minutes ago is
    # yesterday's.
    now = timezone.now() - timedelta(minutes=5)
    click(alice, now, sub1="=HYPERLINK(\"http://evil\")", sub2="+1", sub3="@x", sub4="-2",
          sub5="\tx", utm_source="Київ")
    client.force_login(alice.user)
    rows = rows_of(client.get("/cabinet/clicks/csv?period=7d"))
    assert rows[1][1:7] == ["'=HYPERLINK(\"http://evil\")", "'+1", "'@x", "'-2", "'\tx",
                            "Київ"]
    by_sub = rows_of(client.get("/cabinet/stats/csv?period=7d&by=sub1"))
    assert by_sub[1][0].startswith("'=")


def test_filters_and_paging_select_what_the_csv_downloads(client, alice):
    now = timezone.now() - timedelta(hours=2)
    for n in range(60):
        click(alice, now - timedelta(seconds=n), sub1="a" if n % 2 else "b",
              is_unique=n % 3 == 0, country="UA" if n < 10 else "PL")
    client.force_login(alice.user)
    first = client.get("/cabinet/clicks/?period=7d").content.decode()
    assert 'rel="next"' in first
    second = client.get("/cabinet/clicks/?period=7d&page=2").content.decode()
    assert second.count("<tr><td class=\"nowrap\">") == 10
    rows = rows_of(client.get("/cabinet/clicks/csv?period=7d&sub1=a&country=pl"))
    assert len(rows) - 1 == sum(1 for n in range(10, 60) if n % 2)
    unique = rows_of(client.get("/cabinet/clicks/csv?period=7d&unique=yes"))
    assert len(unique) - 1 == 20 and {r[-1] for r in unique[1:]} == {"1"}


def test_bob_never_gets_alices_rows(client, alice, bob, pm_usdt, program):
    moment = timezone.now() - timedelta(hours=1)
    click(alice, moment, sub1="alice-secret", referrer="https://alice-secret.example/")
    referred(pm_usdt, alice, "777", sub1="alice-secret")
    click(bob, moment, sub1="bobs")
    clicks_roll_up(settle=False)
    client.force_login(bob.user)
    for path in ("/cabinet/", "/cabinet/stats/?by=sub1", "/cabinet/stats/?by=referrer",
                 "/cabinet/clicks/", "/cabinet/exchanges/", "/cabinet/ledger/",
                 "/cabinet/payouts/"):
        html = client.get(path).content.decode()
        assert "alice-secret" not in html and "777" not in html, path
    for path in ("/cabinet/clicks/csv", "/cabinet/exchanges/csv", "/cabinet/ledger/csv",
                 "/cabinet/payouts/csv", "/cabinet/stats/csv?by=sub1",
                 "/cabinet/stats/csv?by=referrer"):
        body = b"".join(client.get(path).streaming_content).decode()
        assert "alice-secret" not in body and "777" not in body, path


def test_bot_clicks_are_never_shown(client, alice):
    click(alice, timezone.now() - timedelta(minutes=3), is_bot=True, sub1="crawler")
    client.force_login(alice.user)
    assert "crawler" not in client.get("/cabinet/clicks/").content.decode()
    assert len(rows_of(client.get("/cabinet/clicks/csv"))) == 1
    assert 'id="stat-clicks">0<' in client.get("/cabinet/").content.decode()


def test_service_api_and_csv_agree(client, alice, bob, pm_usdt, program):
    """Over the same days: the statistics service's totals, what api.php lists, what the
    cabinet shows and what its CSV holds are the same numbers."""
    start = datetime(2026, 4, 1, tzinfo=UTC)
    for n in range(30):
        click(alice, start + timedelta(hours=7 * n), is_unique=n % 2 == 0, sub1=f"s{n % 3}")
    click(alice, start + timedelta(hours=3), is_bot=True)
    click(bob, start + timedelta(hours=5))
    clicks_roll_up(settle=False)
    for n in range(6):
        click(alice, start + timedelta(hours=7 * n + 1))  # live rows, not rolled up yet
    for n in range(5):
        referred(pm_usdt, alice, str(100 + n), success=n != 2,
                 moment=start + timedelta(days=n, hours=4), sub1=f"s{n % 3}")
    period = Period("custom", date(2026, 4, 1), date(2026, 4, 7), UTC)
    service = selectors.figures(partner_id=alice.pk, start=period.start, end=period.end)

    _key, raw = apikey_create(partner=alice, name="agree")
    window = {"start_time": to_unix(period.start), "end_time": to_unix(period.end) - 1}

    def api(method):
        response = client.get("/service/partner/api.php", {
            "api_action": "pp", "api_key": raw, "method": method, **window})
        return json.loads(b"".join(response.streaming_content))

    links, exchanges = api("get_links"), api("get_exchanges")
    api_items = exchanges["data"]["items"].values()
    assert len(links["data"]["items"]) == service.clicks
    assert len(api_items) == service.exchanges
    assert sum(1 for e in api_items if e["exchange_success"]) == service.successful
    assert sum(Decimal(str(e["partner_reward"])) for e in api_items if e["accrued"]) == \
        service.rewards

    client.force_login(alice.user)
    query = "period=custom&from=2026-04-01&to=2026-04-07"
    clicks_csv = rows_of(client.get(f"/cabinet/clicks/csv?{query}"))
    assert len(clicks_csv) - 1 == service.clicks
    assert sum(int(r[-1]) for r in clicks_csv[1:]) == service.unique_clicks
    exchanges_csv = rows_of(client.get(f"/cabinet/exchanges/csv?{query}"))
    assert len(exchanges_csv) - 1 == service.exchanges
    assert sum(Decimal(r[8]) for r in exchanges_csv[1:]) == service.rewards
    assert sum(Decimal(r[7]) for r in exchanges_csv[1:]) == service.turnover
    days = rows_of(client.get(f"/cabinet/stats/csv?{query}&by=day"))
    assert sum(int(r[1]) for r in days[1:]) == service.clicks
    assert sum(int(r[3]) for r in days[1:]) == service.exchanges
    by_sub = rows_of(client.get(f"/cabinet/stats/csv?{query}&by=sub1"))
    assert sum(int(r[1]) for r in by_sub[1:]) == service.clicks
    assert sum(Decimal(r[7]) for r in by_sub[1:]) == service.rewards
    html = client.get(f"/cabinet/stats/?{query}").content.decode()
    assert f'id="stat-clicks">{service.clicks}<' in html
    assert f'id="stat-unique">{service.unique_clicks}<' in html
    chart = json.loads(html.split('id="series-data" type="application/json">')[1]
                       .split("</script>")[0])
    assert sum(chart["clicks"]) == service.unique_clicks
