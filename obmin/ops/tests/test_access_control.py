"""Access control proven, not assumed: every URL of the URL conf (the admin's included) and
every api.php method, requested as anonymous, alice, bob and carol (the operator), answers what
the tables below say; bob's and anonymous answers never hold alice's data; and nothing a
request refuses changes alice's rows.

A URL or API method missing from the tables fails the test with the line to add. Requests for
alice's objects use her exchange, payout, API key and codes. Each request runs in a transaction
that is rolled back afterwards, so alice's own state-changing requests (cancel her payout,
revoke her key) leave the world as it was for the next URL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.http.response import HttpResponseBase
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from obmin.ops.tests.conftest import World, alice_fingerprint, alice_markers
from obmin.partner_api.methods import HANDLERS
from obmin.partners.models import Partner
from obmin.testing.urlwalk import UrlRoute, url_routes

pytestmark = pytest.mark.django_db

PUBLIC_IP = "198.51.100.7"
PERSONAS = ("anonymous", "bob", "carol", "alice")  # alice last: hers may change things

# What an answer is, as the tables write it: the status, and for a redirect where it leads
# ("302→/cabinet/login/"; the query string is left out). A JSON envelope's error is added
# (" error=1"), so api.php's answers say more than "200".
LOGIN = "302→/cabinet/login/"
ADMIN_LOGIN = "302→/admin/login/"
NOT_PARTNER = "403"  # the cabinet's page for a logged-in user who is not a partner (carol)
# A passkey ceremony where browsers refuse WebAuthn (the tests' SITE_URL is an IP address).
NO_WEBAUTHN = ("400 error=Passkeys work only when the site is opened at its domain name over "
               "HTTPS; ask the operator to set SITE_URL.")


@dataclass(frozen=True)
class Access:
    """What each persona gets from one URL."""

    anonymous: str
    alice: str
    bob: str
    carol: str
    method: str = "get"
    data: dict[str, str] = field(default_factory=dict)
    # The URL's values, from the world; the defaults (KWARGS) name alice's objects.
    kwargs: Callable[[World], dict[str, object]] | None = None
    # alice and bob send their own API key (Authorization: Bearer).
    api_key: bool = False
    # A link handed to a customer (the exchange's page by its token): whoever holds it sees
    # the customer's data, never the partner's.
    customer_link: bool = False
    # Anyone's request adds to alice's rows by design (a click on her link).
    adds_to_alice: bool = False


def everyone(answer: str, **options: object) -> Access:
    return Access(answer, answer, answer, answer, **options)


def cabinet(alice: str, bob: str | None = None, **options: object) -> Access:
    """A cabinet page: the login for the anonymous, the not-a-partner page for carol."""
    return Access(LOGIN, alice, alice if bob is None else bob, NOT_PARTNER, **options)


# Values a URL needs, by name: alice's objects unless an entry says otherwise.
KWARGS: dict[str, Callable[[World], object]] = {
    "token": lambda w: w.alice_exchange.token,
    "wallet_id": lambda w: w.alice.payout_wallets.get().pk,
    "payout_id": lambda w: w.alice_payout.pk,
    "key_id": lambda w: w.alice_key.pk,
    "code": lambda w: w.alice.ref_code,
    "fmt": lambda w: "xml",
    "app_label": lambda w: "partners",
    "content_type_id": lambda w: ContentType.objects.get_for_model(Partner).pk,
    "object_id": lambda w: w.alice.pk,
    "postback_id": lambda w: w.extra["postback"].pk,
    "delivery_id": lambda w: w.extra["delivery"].pk,
    "method": lambda w: "get_partner_info",
    "uidb64": lambda w: urlsafe_base64_encode(force_bytes(w.alice.user_id)),
}

API_GET_INFO = {"api_action": "pp", "method": "get_info"}

# Every URL that is not one of the admin's per-model URLs (those are ADMIN_MODELS below).
ROUTES: dict[str, Access] = {
    # The customer's pages: public.
    "exchange:home": everyone("200"),
    "exchange:form": everyone("200"),
    # "Find my exchange": the same page for everyone; the links go by e-mail only.
    "exchange:lookup": everyone("200"),
    "exchange:detail": everyone("200", customer_link=True),
    "exchange:status": everyone("200", customer_link=True),
    "exchange:mark_paid": everyone("302→/exchange/{token}/", method="post",
                                   customer_link=True),
    # The referral redirect and the monitors' export: public by design.
    "partners:ref": everyone("302→/", adds_to_alice=True),
    "monitoring:export": everyone("200"),
    "monitoring:default_export_xml": everyone("200", kwargs=lambda w: {"fmt": "xml"}),
    "monitoring:default_export_txt": everyone("200", kwargs=lambda w: {"fmt": "txt"}),
    # api.php answers by key only: a session is no key.
    "partner_api:api": Access("200 error=1", "200 error=0", "200 error=0", "200 error=1",
                              data=API_GET_INFO, api_key=True),
    # The same API where Premium's documentation puts it.
    "partner_api:api_html": Access("200 error=1", "200 error=0", "200 error=0", "200 error=1",
                                   data=API_GET_INFO, api_key=True),
    "partner_api:openapi": everyone("200"),
    "partner_api:docs": everyone("200"),
    "program": everyone("200"),
    # The cabinet.
    "cabinet:login": Access("200", "302→/cabinet/", "302→/cabinet/", "302→/cabinet/"),
    "cabinet:logout": everyone("405"),
    "cabinet:signup": Access("200", "302→/cabinet/", "302→/cabinet/", "302→/cabinet/"),
    "cabinet:dashboard": cabinet("200"),
    "cabinet:exchanges": cabinet("200"),
    "cabinet:payouts": cabinet("200"),
    # bob's try on alice's payout or key is refused on his own page; nothing changes.
    "cabinet:payout_cancel": cabinet("302→/cabinet/payouts/", method="post"),
    "cabinet:wallet_save": cabinet("400", method="post"),
    "cabinet:wallet_remove": cabinet("302→/cabinet/payouts/", method="post"),
    "admin:audit_auditentry_csv": Access(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"),
    "cabinet:api_access": cabinet("200"),
    "cabinet:api_key_revoke": cabinet("302→/cabinet/api/", method="post"),
    # Sign-up by proof and password reset: public; a made-up token is refused.
    "cabinet:signup_sent": everyone("200"),
    "cabinet:signup_confirm": everyone("400", kwargs=lambda w: {"token": "made-up-token"}),
    "cabinet:password_reset": everyone("200"),
    "cabinet:password_reset_done": everyone("200"),
    "cabinet:password_reset_confirm": everyone(
        "200", kwargs=lambda w: {"uidb64": KWARGS["uidb64"](w), "token": "made-up-token"}),
    "cabinet:password_reset_complete": everyone("200"),
    # Two-factor sign-in: each signed-in user's own (staff too); none of the personas has it.
    "twofactor:setup": Access(LOGIN, "200", "200", "200"),
    "twofactor:setup_confirm": Access(LOGIN, *["302→/cabinet/account/two-factor/"] * 3),
    "twofactor:recovery_shown": Access(LOGIN, *["302→/cabinet/account/two-factor/"] * 3),
    "twofactor:recovery_regenerate": Access(LOGIN, *["302→/cabinet/account/two-factor/"] * 3,
                                            method="post"),
    "twofactor:disable": Access(LOGIN, *["302→/cabinet/account/two-factor/"] * 3,
                                method="post"),
    "twofactor:verify": Access(LOGIN, "302→/cabinet/", "302→/cabinet/", "302→/admin/"),
    "twofactor:reverify": Access(LOGIN, "200", "200", "200"),
    # Passkeys, each signed-in user's own; at the test's SITE_URL (an IP address) browsers
    # refuse WebAuthn, so every ceremony is refused before it starts (their own tests run them).
    "passkeys:add_begin": Access(LOGIN, *[NO_WEBAUTHN] * 3, method="post"),
    "passkeys:add_complete": Access(LOGIN, *[NO_WEBAUTHN] * 3, method="post"),
    "passkeys:remove": Access(LOGIN, *["302→/cabinet/account/two-factor/"] * 3, method="post",
                              kwargs=lambda w: {"passkey_id": 987654}),
    "passkeys:use_begin": Access(LOGIN, *[NO_WEBAUTHN] * 3, method="post"),
    "passkeys:use_complete": Access(LOGIN, *[NO_WEBAUTHN] * 3, method="post"),
    "passkeys:resubmit": Access(LOGIN, "302→/cabinet/", "302→/cabinet/", "302→/admin/"),
    "cabinet:passkey_sign_in_begin": everyone(NO_WEBAUTHN, method="post"),
    "cabinet:passkey_sign_in_complete": everyone(NO_WEBAUTHN, method="post"),
    # The partner's own account.
    "cabinet:account": cabinet("200"),
    "cabinet:password_change": cabinet("200"),
    "cabinet:email_change": cabinet("200"),
    "cabinet:email_change_confirm": cabinet(
        "302→/cabinet/account/", method="post", kwargs=lambda w: {"token": "made-up-token"}),
    "cabinet:code_choose": cabinet("400", method="post"),  # no code given
    "cabinet:link_builder": cabinet("200"),
    "cabinet:link_qr": cabinet("200"),
    # Statistics and their CSV files: each partner's own rows (markers checked for bob).
    "cabinet:statistics": cabinet("200"),
    "cabinet:statistics_csv": cabinet("200"),
    "cabinet:clicks": cabinet("200"),
    "cabinet:clicks_csv": cabinet("200"),
    "cabinet:exchanges_csv": cabinet("200"),
    "cabinet:ledger": cabinet("200"),
    "cabinet:ledger_csv": cabinet("200"),
    "cabinet:payouts_csv": cabinet("200"),
    # Postbacks: alice's postback and delivery are hers; bob is sent back to his own list.
    "cabinet:postbacks": cabinet("200"),
    "cabinet:postback_edit": cabinet("200", "302→/cabinet/postbacks/"),
    "cabinet:postback_remove": cabinet("302→/cabinet/postbacks/", method="post"),
    "cabinet:postback_test": cabinet("302→/cabinet/postbacks/", method="post"),
    "cabinet:postback_resend": cabinet("302→/cabinet/postbacks/", method="post"),
    "cabinet:postback_secret_new": cabinet("302→/cabinet/postbacks/", method="post"),
    # API v1 answers by its login and key headers only, POST only.
    "partner_api:v1": Access("200 error=1", "200 error=0", "200 error=0", "200 error=1",
                             method="post", api_key=True),
    # The operator's overview outside the admin: staff only.
    "ops:overview": Access(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"),
    "ops:overview_mark_paid": Access(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN,
                                     "302→/staff/overview/", method="post"),
    "ops:overview_payouts_csv": Access(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"),
    # The operator's desk: staff only.
    "ops:desk": Access(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"),
    "ops:desk_exchange": Access(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200",
                                kwargs=lambda w: {"exchange_id": w.alice_exchange.pk}),
    "ops:desk_act": Access(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "302→/staff/desk/{id}/",
                           method="post",
                           kwargs=lambda w: {"exchange_id": w.alice_exchange.pk}),
    # Operations.
    "ops:live": everyone("200"),
    "ops:ready": everyone("200"),
    # Requests come from a public address (REMOTE_ADDR): without METRICS_TOKEN, /metrics
    # answers loopback only (tokens: test_metrics.py).
    "ops:metrics": everyone("403"),
    "set_language": everyone("302→/", method="post", data={"language": "uk"}),
    # The admin's own pages: staff only.
    "admin:index": Access(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"),
    "admin:login": Access("200", "200", "200", "302→/admin/"),
    "admin:logout": Access("302→/admin/", "302→/admin/", "302→/admin/", "405"),
    "admin:password_change": Access(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"),
    "admin:password_change_done": Access(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"),
    "admin:autocomplete": Access(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "403"),
    "admin:jsi18n": Access(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"),
    "admin:view_on_site": Access(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "404"),
    "admin:app_list": Access(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"),
    "admin:auth_user_password_change": Access(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200",
                                              kwargs=lambda w: {"id": w.alice.user_id}),
    "admin:exchange_rates_import": Access(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"),
    # The admin's catch-all: unknown admin URLs.
    "admin/(?P<url>.*)$": Access(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "404",
                                 kwargs=lambda w: {"url": "no-such-page/"}),
}

# The admin's per-model URLs: what carol gets from each view of each registered model (anyone
# else is sent to the admin's login). "redirect" is the short /admin/<app>/<model>/<id>/ URL.
EDITABLE = {"changelist": "200", "add": "200", "change": "200", "delete": "200",
            "history": "200", "redirect": "302"}
NO_ADD = {**EDITABLE, "add": "403"}
READ_ONLY = {**NO_ADD, "delete": "403"}
SINGLETON = {**EDITABLE, "changelist": "302", "add": "403", "delete": "403"}
ADMIN_MODELS: dict[str, dict[str, str]] = {
    "auth.group": EDITABLE,
    "auth.user": EDITABLE,
    "twofactor.twofactorpolicy": SINGLETON,
    # Read only, but carol may remove one (a lost device): passkeys/admin.py.
    "django_otp_webauthn.webauthncredential": NO_ADD,
    "axes.accessattempt": NO_ADD,
    "axes.accesslog": NO_ADD,
    "axes.accessfailurelog": NO_ADD,
    "django_tasks_database.dbtaskresult": READ_ONLY,
    "partners.partner": EDITABLE,
    "partners.click": READ_ONLY,
    "partners.clickday": READ_ONLY,
    "partners.referralsettings": SINGLETON,
    "exchange.currency": EDITABLE,
    "exchange.direction": EDITABLE,
    "exchange.exchange": READ_ONLY,
    "rates.ratesource": EDITABLE,
    "rates.quote": READ_ONLY,
    "rates.marketrate": EDITABLE,
    "rates.reserveformula": EDITABLE,
    "rewards.rewardprogram": SINGLETON,
    "rewards.rewardlevel": EDITABLE,
    "rewards.rewardoverride": EDITABLE,
    "rewards.payoutmethod": EDITABLE,
    "rewards.partneraccount": READ_ONLY,
    "rewards.ledgerentry": READ_ONLY,
    "rewards.rewardhold": READ_ONLY,
    "rewards.rewardreview": READ_ONLY,
    "rewards.risksettings": SINGLETON,
    "audit.auditentry": READ_ONLY,
    "rewards.payout": READ_ONLY,
    "monitoring.exportsettings": SINGLETON,
    "monitoring.monitorstatus": READ_ONLY,
    "partner_api.apikey": EDITABLE,
    "partner_api.apibid": READ_ONLY,
    "partner_api.bidcallback": READ_ONLY,
    "postbacks.postback": NO_ADD,
    "postbacks.postbackdelivery": NO_ADD,
}
ADMIN_VIEWS = ("changelist", "add", "change", "delete", "history")

# Every api.php method: what each persona's call answers (alice and bob with their own key).
API_METHODS: dict[str, tuple[Access, dict[str, str]]] = {
    name: (Access("200 error=1", "200 error=0", "200 error=0", "200 error=1"), {})
    for name in ("get_info", "get_exchanges", "get_links", "get_payouts")
}
# bob's payout of his own balance; alice's is held in her payout already (error 4).
API_METHODS["add_payout"] = (
    Access("200 error=1", "200 error=4", "200 error=0", "200 error=1"),
    {"account": "TQbobwallet"})


def outcome(response: HttpResponseBase, body: bytes) -> str:
    text = str(response.status_code)
    if response.status_code in (301, 302, 303, 307, 308):
        text += "→" + urlsplit(response["Location"]).path
    if response.get("Content-Type", "").startswith("application/json"):
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, dict) and "error" in data:
            text += f" error={data['error']}"
    return text


def body_of(response: HttpResponseBase) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def admin_model_view(route: UrlRoute) -> tuple[str, str] | None:
    """(app.model, view) for one of the admin's generated per-model URLs, else None."""
    for model in admin.site._registry:
        label = f"{model._meta.app_label}.{model._meta.model_name}"
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        if route.name.startswith(prefix) and route.name[len(prefix):] in ADMIN_VIEWS:
            return label, route.name[len(prefix):]
        if not route.name and route.pattern == (
                f"admin/{model._meta.app_label}/{model._meta.model_name}/<path:object_id>/"):
            return label, "redirect"
    return None


def admin_object(model: type[models.Model], world: World) -> models.Model | None:
    """alice's row of the model when it has one, else its first row."""
    if model is Partner:
        return world.alice
    if model is get_user_model():
        return world.alice.user
    rows = model._default_manager.order_by("pk")
    if any(f.name == "partner" for f in model._meta.get_fields()):
        mine = rows.filter(partner=world.alice)
        if mine.exists():
            rows = mine
    return rows.first()


@dataclass
class Probe:
    """One URL to request, with what each persona must get."""

    key: str
    url: str
    access: Access
    customer_only: bool = False


def admin_probe(route: UrlRoute, label: str, view: str, world: World) -> Probe:
    model = next(m for m in admin.site._registry
                 if f"{m._meta.app_label}.{m._meta.model_name}" == label)
    carol = ADMIN_MODELS[label][view]
    if route.kwargs:
        row = admin_object(model, world)
        object_id = row.pk if row is not None else 0
        if row is None and view != "redirect":
            # Nothing to open: the admin says so on its index (some check permissions first).
            carol = f"{carol}|302→/admin/"
        url = (reverse(route.name, kwargs={"object_id": object_id}) if route.name else
               f"/admin/{model._meta.app_label}/{model._meta.model_name}/{object_id}/")
    else:
        url = reverse(route.name)
    return Probe(route.key, url, Access(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, carol))


def probes(world: World) -> tuple[list[Probe], list[str]]:
    """A probe per route, and a message per route the tables lack."""
    found: list[Probe] = []
    missing: list[str] = []
    for route in url_routes():
        model_view = admin_model_view(route)
        if model_view is not None:
            label, view = model_view
            if label not in ADMIN_MODELS:
                missing.append(
                    f"admin model {label} ({route.pattern}) has no entry: add "
                    f"ADMIN_MODELS[{label!r}] = EDITABLE, READ_ONLY or SINGLETON (what carol "
                    f"may do with it) in {__file__}")
                continue
            found.append(admin_probe(route, label, view, world))
            continue
        access = ROUTES.get(route.key)
        if access is None:
            missing.append(
                f"URL {route.key!r} ({route.pattern}) has no entry: add ROUTES[{route.key!r}] ="
                f" Access(anonymous=..., alice=..., bob=..., carol=...) in {__file__}, saying "
                "what each persona may get (200, 403, 404, LOGIN, ...)")
            continue
        values = access.kwargs(world) if access.kwargs else {
            name: KWARGS[name](world) for name in route.kwargs if name in KWARGS}
        lacking = [name for name in route.kwargs if name not in values]
        if lacking:
            missing.append(f"URL {route.key!r} needs {lacking}: give its ROUTES entry kwargs=")
            continue
        if route.name:
            url = reverse(route.name, kwargs=values)
        else:  # an unnamed pattern: only the admin's catch-all, handled by its values
            url = "/admin/" + "".join(str(v) for v in values.values())
        found.append(Probe(route.key, url, access, customer_only=access.customer_link))
    return found, missing


def request(client: Client, probe: Probe, persona: str, world: World) -> tuple[str, bytes]:
    access = probe.access
    headers = {}
    if access.api_key and persona in ("alice", "bob"):
        raw = world.alice_raw_key if persona == "alice" else world.bob_raw_key
        key = world.alice_key if persona == "alice" else world.bob_key
        # api.php reads the Bearer header, API v1 its login and key headers.
        headers.update({"Authorization": f"Bearer {raw}", "API-Login": key.login,
                        "API-Key": raw})
    send = client.post if access.method == "post" else client.get
    # From a public address, as a stranger's request comes.
    response = send(probe.url, access.data, headers=headers, REMOTE_ADDR=PUBLIC_IP)
    body = body_of(response)
    return outcome(response, body), body


def expected(access: Access, persona: str, world: World) -> str:
    return (getattr(access, persona).replace("{token}", world.alice_exchange.token)
            .replace("{id}", str(world.alice_exchange.pk)))


def leaks(body: bytes, world: World, customer_only: bool) -> list[str]:
    """alice's strings found in an answer meant for someone else."""
    text = body.decode("utf-8", "replace").lower()
    markers = alice_markers(world)
    if customer_only:  # the customer's own data is on its link; alice's never
        markers = [m for m in markers if m != "alicemark"]
        text = text.replace("alicemark-customer@example.org", "").replace(
            "alicemark-account", "")
    return [marker for marker in markers if marker in text]


def test_every_url_answers_each_persona_as_the_table_says(world, clients):
    found, problems = probes(world)
    for probe in found:
        for persona in PERSONAS:
            with transaction.atomic():
                before = alice_fingerprint(world)
                got, body = request(clients[persona], probe, persona, world)
                changed = (persona != "alice" and not probe.access.adds_to_alice
                           and alice_fingerprint(world) != before)
                transaction.set_rollback(True)
            want = expected(probe.access, persona, world)
            status_only = "→" not in want and got.startswith(("301", "302"))
            if (got.split("→")[0] if status_only else got) not in want.split("|"):
                problems.append(f"{probe.key} as {persona}: {got}, expected {want} "
                                f"({probe.access.method.upper()} {probe.url})")
            if persona in ("anonymous", "bob"):
                found_leaks = leaks(body, world, probe.customer_only)
                if found_leaks:
                    problems.append(f"{probe.key} as {persona} shows alice's {found_leaks}")
            if changed:
                problems.append(f"{probe.key} as {persona} changed alice's rows")
    assert not problems, "\n".join(problems)


def test_a_url_without_an_entry_fails_with_what_to_add(world, monkeypatch):
    monkeypatch.delitem(ROUTES, "cabinet:payouts")
    _found, problems = probes(world)
    assert any("'cabinet:payouts'" in p and "add ROUTES['cabinet:payouts']" in p
               for p in problems)


def test_every_api_method_answers_each_persona_as_the_table_says(world, clients):
    problems = [f"api.php method {name!r} has no entry: add API_METHODS[{name!r}] in {__file__}"
                for name in HANDLERS if name not in API_METHODS]
    problems += [f"API_METHODS[{name!r}] names no method" for name in API_METHODS
                 if name not in HANDLERS]
    url = reverse("partner_api:api")
    for name, (access, options) in API_METHODS.items():
        params = {"api_action": "pp", "method": name, "method_id": str(world.method.pk),
                  **options}
        probe = Probe(f"api.php {name}", url, Access(
            access.anonymous, access.alice, access.bob, access.carol, method="post",
            data=params, api_key=True))
        for persona in PERSONAS:
            with transaction.atomic():
                before = alice_fingerprint(world)
                got, body = request(clients[persona], probe, persona, world)
                changed = persona != "alice" and alice_fingerprint(world) != before
                transaction.set_rollback(True)
            if got != getattr(access, persona):
                problems.append(f"{name} as {persona}: {got}, expected "
                                f"{getattr(access, persona)}: {body[:200]!r}")
            if persona in ("anonymous", "bob", "carol") and leaks(body, world, False):
                problems.append(f"{name} as {persona} shows alice's {leaks(body, world, False)}")
            if changed:
                problems.append(f"{name} as {persona} changed alice's rows")
    assert not problems, "\n".join(problems)


def test_the_marker_checks_are_not_vacuous(world, clients):
    """The pages that must hide alice's rows from bob do show alice hers, and bob his."""
    for url, mark in (("/cabinet/clicks/", "alicemark-referrer"),
                      ("/cabinet/exchanges/", "alicemark-exchange-sub1"),
                      ("/cabinet/payouts/", "alicemark-payout"), ("/cabinet/api/", "alicemark-key"),
                      ("/cabinet/postbacks/", "alicemark-postback")):
        assert mark in clients["alice"].get(url).content.decode(), url
    for url, mark in (("/cabinet/clicks/", "bobmark-referrer"),
                      ("/cabinet/exchanges/", "bobmark-exchange-sub1"),
                      ("/cabinet/api/", "bobmark-key")):
        assert mark in clients["bob"].get(url).content.decode(), url
