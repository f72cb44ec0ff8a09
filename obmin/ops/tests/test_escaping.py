"""Attacker-written text shown to others: a visitor writes the Referer, User-Agent, query
string, sub-IDs and UTM tags of a click, a customer the e-mail and account of an exchange, a
partner its e-mail, payout account and key names. Stored with HTML and `javascript:` payloads
and spreadsheet formula starts, they must come out escaped on every page that shows them (the
admin's lists and change pages, the cabinet, the exchange's status page) and inert in every
CSV download.

Each field holds its own tag (`cr` for a click's referrer, ...), so a test can tell which
pages show which field, and that a page shows it escaped rather than not at all.
"""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.urls import NoReverseMatch, reverse

from obmin.exchange.models import Exchange
from obmin.partner_api.models import ApiKey
from obmin.partners.models import Click
from obmin.rewards.models import Payout

pytestmark = pytest.mark.django_db

# Formula starts (OWASP's list) and `javascript:`, each field taking the next.
STARTS = ("=", "+", "-", "@", "\t", "\r", "javascript:")


def payload(tag: str, index: int, long: bool = False) -> str:
    """At most 64 characters for a short tag, the length of a sub-ID."""
    text = f'{STARTS[index % len(STARTS)]}{tag}//"><script>{tag}</script>'
    if long:  # fields with room get an attribute break and an event handler too
        text += f"<img src=x onerror={tag}>' onmouseover='{tag}"
    return text


SOURCE = ("sub1", "sub2", "sub3", "sub4", "sub5", "utm_source", "utm_medium", "utm_campaign")
CLICK_FIELDS = {"referrer": "cr", "user_agent": "ca", "query_string": "cq", "browser": "cb",
                "user_hash": "ch", "ip": "ci", **{f: f"c{f[:1]}{f[-1]}" for f in SOURCE}}
EXCHANGE_FIELDS = {"email": "xe", "account_get": "xa", "user_hash": "xh",
                   **{f: f"x{f[:1]}{f[-1]}" for f in SOURCE}}
LONG = {"referrer", "user_agent", "query_string", "account_get", "account", "email"}
EVERY_TAG = [*CLICK_FIELDS.values(), *EXCHANGE_FIELDS.values(), "pa", "ue", "kn", "qs"]


def hostile(fields: dict[str, str], offset: int = 0) -> dict[str, str]:
    return {name: payload(tag, offset + i, long=name in LONG)
            for i, (name, tag) in enumerate(fields.items())}


@pytest.fixture
def hostile_world(world):
    """alice's click, exchanges, payout, key and e-mail hold the payloads."""
    Click.objects.filter(pk=world.alice_click.pk).update(**hostile(CLICK_FIELDS))
    Exchange.objects.filter(partner=world.alice).update(**hostile(EXCHANGE_FIELDS, 3))
    Payout.objects.filter(pk=world.alice_payout.pk).update(
        account=payload("pa", 0, long=True))
    ApiKey.objects.filter(pk=world.alice_key.pk).update(name=payload("kn", 6))
    user = world.alice.user
    get_user_model().objects.filter(pk=user.pk).update(
        email=payload("ue", 3, long=True) + "@evil.example")
    return world


JS_URL = re.compile(r"""(?:href|src|action|formaction|data)\s*=\s*["']?\s*javascript:""", re.I)


def raw_payloads(text: str) -> list[str]:
    """What of the payloads came out as markup: tags, handlers or `javascript:` links."""
    found = [tag for tag in EVERY_TAG
             if f"<script>{tag}</script>" in text or f"onerror={tag}>" in text
             or f"onmouseover='{tag}" in text.replace("&#x27;", "")]
    found += [m.group(0) for m in JS_URL.finditer(text)]
    return found


def shown_escaped(text: str) -> set[str]:
    """Tags whose payload the page shows as text (escaped as HTML, or inside JSON)."""
    return {tag for tag in EVERY_TAG
            if f"&lt;script&gt;{tag}&lt;/script&gt;" in text
            or f"\\u003Cscript\\u003E{tag}" in text or f"\\u003cscript\\u003e{tag}" in text}


def url_or_none(name: str, **kwargs: object) -> str | None:
    try:
        return reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return None


def admin_pages(world) -> list[str]:
    exchange = world.alice_exchange
    pages = []
    for label, pk in (("partners_click", world.alice_click.pk), ("exchange_exchange", exchange.pk),
                      ("rewards_payout", world.alice_payout.pk),
                      ("partners_partner", world.alice.pk),
                      ("partner_api_apikey", world.alice_key.pk),
                      ("auth_user", world.alice.user_id)):
        pages.append(reverse(f"admin:{label}_changelist"))
        pages.append(reverse(f"admin:{label}_change", args=[pk]))
    for label in ("rewards_ledgerentry", "rewards_partneraccount", "partners_clickday"):
        pages.append(reverse(f"admin:{label}_changelist"))
    # The search box and filters echo what is typed.
    search = urlencode({"q": payload("qs", 0)})
    pages += [reverse("admin:partners_click_changelist") + "?" + search,
              reverse("admin:exchange_exchange_changelist") + "?" + search]
    return pages


CABINET_PAGES = ("cabinet:dashboard", "cabinet:exchanges", "cabinet:clicks",
                 "cabinet:statistics", "cabinet:ledger", "cabinet:payouts",
                 "cabinet:api_access", "cabinet:account", "cabinet:link_builder")
# The statistics page's breakdowns of attacker-written fields.
BREAKDOWNS = ("sub1", "sub2", "sub3", "sub4", "sub5", "utm_source", "utm_medium",
              "utm_campaign", "referrer", "browser", "country")


def cabinet_pages() -> list[str]:
    pages = [url for name in CABINET_PAGES if (url := url_or_none(name))]
    statistics = url_or_none("cabinet:statistics")
    if statistics:
        pages += [f"{statistics}?by={by}" for by in BREAKDOWNS]
    # Filters echo what is typed into them.
    echo = urlencode({"sub1": payload("qs", 0), "country": payload("qs", 1),
                      "period": payload("qs", 2), "ip": payload("qs", 3)})
    pages += [f"{url}?{echo}" for name in ("cabinet:exchanges", "cabinet:clicks",
                                           "cabinet:statistics")
              if (url := url_or_none(name))]
    return pages


def test_admin_pages_show_attacker_text_escaped(hostile_world, clients):
    client = clients["carol"]
    shown: set[str] = set()
    problems = []
    for url in admin_pages(hostile_world):
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        if raw := raw_payloads(text):
            problems.append(f"{url}: {raw}")
        shown |= shown_escaped(text)
    assert not problems, "\n".join(problems)
    # Not vacuous: the operator sees every field somewhere, escaped (the query echo too).
    assert shown >= {*CLICK_FIELDS.values(), *EXCHANGE_FIELDS.values(), "pa", "ue", "kn",
                     "qs"} - {"cb"}, sorted(set(EVERY_TAG) - shown)


def test_cabinet_pages_show_attacker_text_escaped(hostile_world, clients):
    client = clients["alice"]
    shown: set[str] = set()
    problems = []
    for url in cabinet_pages():
        response = client.get(url)
        assert response.status_code in (200, 400), url
        text = response.content.decode()
        if raw := raw_payloads(text):
            problems.append(f"{url}: {raw}")
        shown |= shown_escaped(text)
    assert not problems, "\n".join(problems)
    # Not vacuous: her payout's account, key name, e-mail, the clicks' referrer, browser and
    # source tags, the exchanges' source tags and the echoed filter are on her pages, escaped.
    # (Whichever of these pages exist: the statistics pages are new this round.)
    assert {"pa", "kn"} <= shown, shown
    if url_or_none("cabinet:clicks"):
        assert {"cr", "cb", *(CLICK_FIELDS[f] for f in SOURCE),
                *(EXCHANGE_FIELDS[f] for f in SOURCE), "qs"} <= shown, shown


def test_exchange_status_page_shows_the_customer_text_escaped(hostile_world, clients):
    exchange = hostile_world.alice_exchange
    text = clients["anonymous"].get(reverse("exchange:detail", args=[exchange.token])
                                    ).content.decode()
    assert not raw_payloads(text)
    assert "xa" in shown_escaped(text)  # the customer's account is on its page


CSV_PAGES = ("cabinet:exchanges_csv", "cabinet:clicks_csv", "cabinet:statistics_csv",
             "cabinet:ledger_csv", "cabinet:payouts_csv")
NUMBER = re.compile(r"-?\d+(\.\d+)?")


def csv_cells(body: bytes) -> list[str]:
    text = body.decode("utf-8-sig")
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def test_cabinet_csv_cells_never_start_a_formula(hostile_world, clients):
    client = clients["alice"]
    urls = [url for name in CSV_PAGES if (url := url_or_none(name))]
    statistics = url_or_none("cabinet:statistics_csv")
    if statistics:
        urls += [f"{statistics}?by={by}" for by in BREAKDOWNS]
    assert urls, "no cabinet CSV download exists"
    seen: set[str] = set()
    problems = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        for cell in csv_cells(body):
            if cell.startswith(tuple(STARTS[:6])) and not NUMBER.fullmatch(cell):
                problems.append(f"{url}: {cell!r}")
            seen |= {tag for tag in EVERY_TAG if f"<script>{tag}</script>" in cell}
    assert not problems, "\n".join(problems)
    # Not vacuous: the hostile sub-IDs, referrer and payout account reached the files.
    assert {"cs1", "cr", "pa"} <= seen, sorted(seen)
