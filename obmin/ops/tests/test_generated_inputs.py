"""Generated attacks on the public inputs (Hypothesis): the export codes, the /ref/ redirect's
query strings, headers and cookies, and every cabinet form.

- `/service/export/{xml,json,txt}/<code>`: any code → a well-formed answer of that format,
  never a 5xx, through Django and through the WSGI fast path `obmin serve` uses.
- `/ref/<code>/`: any query string, Referer, User-Agent, X-Forwarded-For and cookies → a 302,
  and at most one click stored.
- Cabinet forms: arbitrary text in every field of each form (fields read from the page, so a
  new field is covered without editing this file) → a form error or a success, never a 5xx,
  and nothing changed on a form error. A cabinet page with a form missing from FORMS fails.

The examples per property are few (see SETTINGS) so the file runs in well under a minute
per property on two cores; Hypothesis still shrinks any failure to a small example.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import quote, urlencode, urlsplit
from xml.etree import ElementTree

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import NoReverseMatch, resolve, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obmin.exchange.models import Exchange
from obmin.ops.tests.conftest import alice_fingerprint
from obmin.partner_api.models import ApiKey
from obmin.partners.models import Click, Partner
from obmin.rewards.models import LedgerEntry, Payout
from obmin.testing.urlwalk import url_routes
from obmin.testing.wsgi import wsgi_request

pytestmark = pytest.mark.django_db

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow, HealthCheck.data_too_large])

# Any text a browser or a script could send: no surrogates (they cannot be encoded).
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=80)
# What a header can carry through a real server: latin-1, no CR or LF.
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                    exclude_characters="\x7f"), max_size=120)
NASTY = st.sampled_from([
    "", " ", "\x00", "%00", "../../etc/passwd", "'; DROP TABLE partners_click;--",
    '"><script>alert(1)</script>', "javascript:alert(1)", "=HYPERLINK(\"http://e.x\",\"x\")",
    "-1", "1e309", "NaN", "\u202e", "\ufeff", "a" * 5000, "ä" * 300, "🙂" * 50,
])
TEXT = st.one_of(ANY_TEXT, NASTY)


# --- the export -----------------------------------------------------------------------------

CODE = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="/"),
            min_size=1, max_size=40),
    st.sampled_from(["alice001", "ALICE001", "bob00002", "..", ".", "%2e", "a%2Fb", "%00"]))


def well_formed(fmt: str, body: bytes) -> None:
    if fmt == "xml":
        ElementTree.fromstring(body)
    elif fmt == "json":
        json.loads(body)
    else:
        body.decode("utf-8")


@SETTINGS
@given(fmt=st.sampled_from(["xml", "json", "txt"]), code=CODE, slash=st.booleans(),
       etag=HEADER_TEXT, encoding=HEADER_TEXT)
def test_any_export_code_gets_a_well_formed_answer(world, fmt, code, slash, etag, encoding):
    path = f"/service/export/{fmt}/{quote(code, safe='')}" + ("/" if slash else "")
    response = Client().get(path, headers={"If-None-Match": etag,
                                           "Accept-Encoding": encoding})
    assert response.status_code in (200, 304, 404), (path, response.status_code)
    if response.status_code == 200 and response.get("Content-Encoding") != "gzip":
        well_formed(fmt, response.content)


@SETTINGS
@given(fmt=st.sampled_from(["xml", "json", "txt"]), code=CODE, etag=HEADER_TEXT)
def test_any_export_code_through_the_fast_path(world, fmt, code, etag):
    answer = wsgi_request(f"/service/export/{fmt}/{quote(code, safe='')}",
                          headers={"If-None-Match": etag})
    assert answer.status in (200, 304, 404), (code, answer.status)
    if answer.status == 200:
        well_formed(fmt, answer.body)


# --- /ref/ ----------------------------------------------------------------------------------

PARAM_NAMES = st.one_of(st.sampled_from([
    "cur_from", "cur_to", "sub1", "sub2", "sub3", "sub4", "sub5", "utm_source", "utm_medium",
    "utm_campaign", "lang", "next", "url"]), ANY_TEXT)


@st.composite
def raw_query(draw) -> str:
    """A query string as a browser or a bot may send it: encoded pairs, or raw bytes."""
    if draw(st.booleans()):
        pairs = draw(st.lists(st.tuples(PARAM_NAMES, TEXT), max_size=6))
        return urlencode(pairs)
    return quote(draw(ANY_TEXT), safe="=&%+;/?:@")


@SETTINGS
@given(code=st.sampled_from(["alice001", "ALICE001", "nobody99"]), query=raw_query(),
       referer=HEADER_TEXT, agent=HEADER_TEXT, forwarded=HEADER_TEXT,
       ref_cookie=HEADER_TEXT, vid_cookie=HEADER_TEXT, head=st.booleans())
def test_ref_always_redirects_and_stores_at_most_one_click(
        world, code, query, referer, agent, forwarded, ref_cookie, vid_cookie, head):
    # Through obmin.wsgi, as the server runs it (the fast path, not the test client's stack).
    before = Click.objects.count()
    answer = wsgi_request(f"/ref/{code}/", method="HEAD" if head else "GET", query=query,
                          headers={"Referer": referer, "User-Agent": agent,
                                   "X-Forwarded-For": forwarded,
                                   "Cookie": f"obmin_ref={ref_cookie}; obmin_vid={vid_cookie}"})
    assert answer.status == 302
    assert Click.objects.count() - before <= (0 if head or code == "nobody99" else 1)


# --- cabinet forms --------------------------------------------------------------------------

class _FormFields(HTMLParser):
    """The POST forms of a page: action → the names of their fields and choices' values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, list[str]]] = {}
        self._current: dict[str, list[str]] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            if (values.get("method") or "get").lower() == "post":
                self._current = self.forms.setdefault(values.get("action") or "", {})
        elif self._current is not None and tag in ("input", "textarea", "select"):
            name = values.get("name")
            if name and name != "csrfmiddlewaretoken":
                self._current.setdefault(name, [])
                if values.get("value"):
                    self._current[name].append(values["value"] or "")
            self._select = name if tag == "select" else None
        elif tag == "option" and self._current is not None and self._select:
            self._current[self._select].append(values.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def post_forms(html: str) -> dict[str, dict[str, list[str]]]:
    parser = _FormFields()
    parser.feed(html)
    return parser.forms


@dataclass(frozen=True)
class FormCase:
    persona: str  # who fills it in
    success: tuple[int, ...]  # statuses of a success; 400 (or 200 with errors) is an error
    # A refusal: the form's errors (400, or 200 for Django's own views), a rate limit (429),
    # a lockout (403).
    error_status: tuple[int, ...] = (400, 429)
    page: str = ""  # the URL name of the page that holds the form, when not its own


# Every cabinet form with fields (URL name it posts to) and who fills it in. Forms that are
# a button alone (log out, revoke, cancel, resend) are in test_access_control's table.
FORMS: dict[str, FormCase] = {
    "cabinet:signup": FormCase("anonymous", (302,), (400, 200, 429)),
    "cabinet:login": FormCase("anonymous", (302,), (200, 400, 403, 429)),
    "cabinet:password_reset": FormCase("anonymous", (302,), (200, 400, 429)),
    "cabinet:payouts": FormCase("bob", (302,)),
    "cabinet:wallet_save": FormCase("bob", (302,)),
    "cabinet:api_access": FormCase("alice", (200,)),
    "cabinet:account": FormCase("alice", (302,)),
    "cabinet:password_change": FormCase("alice", (302,)),
    "cabinet:email_change": FormCase("alice", (302,)),
    "cabinet:code_choose": FormCase("alice", (302,), page="cabinet:account"),
    "cabinet:postbacks": FormCase("alice", (302,)),
}


def database_state() -> list[object]:
    """Every row a cabinet form may change (sessions, rate limits and login attempts aside)."""
    return [
        list(get_user_model().objects.order_by("pk").values(
            "pk", "email", "username", "password", "is_active")),
        list(Partner.objects.order_by("pk").values()),
        list(Payout.objects.order_by("pk").values()),
        list(ApiKey.objects.order_by("pk").values(
            "pk", "partner_id", "name", "is_test", "allowed_ips", "revoked_at")),
        list(LedgerEntry.objects.order_by("pk").values()),
        Exchange.objects.count(), Click.objects.count(),
    ]


def persona_client(world, persona: str) -> Client:
    client = Client()
    user = {"alice": world.alice.user, "bob": world.bob.user, "carol": world.carol}.get(persona)
    if user is not None:
        client.force_login(user)
    return client


def form_fields(world, name: str) -> dict[str, list[str]]:
    url = reverse(name)
    page_url = reverse(FORMS[name].page or name)
    page = persona_client(world, FORMS[name].persona).get(page_url)
    assert page.status_code == 200, (name, page.status_code)
    forms = post_forms(page.content.decode())
    fields = forms.get(url) or (forms.get("") if page_url == url else None)
    assert fields, f"{name}: no POST form to itself on {url} (forms: {list(forms)})"
    return fields


def field_value(choices: list[str]) -> st.SearchStrategy[str]:
    """Arbitrary text, or now and then one of the page's own values (a valid choice)."""
    own = [c for c in choices if c]
    return st.one_of(TEXT, st.sampled_from(own)) if own else TEXT


def existing_forms() -> list[str]:
    names = []
    for name in FORMS:
        try:
            reverse(name)
        except NoReverseMatch:
            continue
        names.append(name)
    return names


@pytest.mark.parametrize("name", existing_forms())
def test_cabinet_form_with_arbitrary_text(world, name):
    case = FORMS[name]
    fields = form_fields(world, name)
    url = reverse(name)

    @SETTINGS
    @given(data=st.fixed_dictionaries({f: field_value(c) for f, c in fields.items()}),
           ip=st.ip_addresses(v=4).map(str))
    def attempt(data, ip):
        client = persona_client(world, case.persona)
        before = database_state()
        response = client.post(url, data, REMOTE_ADDR=ip)
        assert response.status_code < 500, (data, response.status_code)
        if response.status_code in case.success and not (
                response.status_code == 200 and b"errorlist" in response.content):
            return
        assert response.status_code in case.error_status, (data, response.status_code)
        assert database_state() == before, data

    attempt()


def test_every_cabinet_form_is_in_the_table(world):
    """A form with fields on any cabinet page must be in FORMS (say who fills it in)."""
    missing = set()
    for route in url_routes():
        if not route.name.startswith("cabinet:") or route.kwargs:
            continue
        url = reverse(route.name)
        for persona in ("anonymous", "alice"):
            response = persona_client(world, persona).get(url)
            if response.status_code != 200 or response.streaming or not response.get(
                    "Content-Type", "").startswith("text/html"):
                continue
            for action, fields in post_forms(response.content.decode()).items():
                target = resolve(urlsplit(action or url).path)
                name = target.view_name
                if fields and name not in FORMS and name != "set_language":
                    missing.add(f"a form on {url} posts to {name}: add FORMS[{name!r}] = "
                                f"FormCase(persona, success statuses) in {__file__}")
    assert not missing, "\n".join(sorted(missing))


def test_bob_form_posts_never_touch_alice(world):
    """bob's payout and key forms with alice's values leave her rows as they were."""
    before = alice_fingerprint(world)
    client = persona_client(world, "bob")
    client.post(reverse("cabinet:payouts"), {"method_id": world.method.pk,
                                              "account": "alicemark-payout"})
    client.post(reverse("cabinet:api_access"), {"name": "alicemark-key"})
    assert alice_fingerprint(world) == before
