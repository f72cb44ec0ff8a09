"""`/ref/` through `obmin.wsgi` (the production path, before most middleware) answers and
records exactly what the Django view does through the whole stack."""

from __future__ import annotations

import pytest
from django.core.wsgi import get_wsgi_application
from django.test import override_settings

from obmin.lib.visitor import USER_HASH_COOKIE
from obmin.partners.attribution import REF_COOKIE
from obmin.partners.fastpath import with_ref_fast_path
from obmin.partners.models import Click
from obmin.partners.tests.conftest import CHROME, GOOGLEBOT
from obmin.testing.wsgi import wsgi_request

pytestmark = pytest.mark.django_db

QUERY = "cur_from=PMUSD&cur_to=BTC&sub1=tg"


def test_same_redirect_and_cookies_as_through_the_middleware(client, alice, pm_btc):
    fast = wsgi_request("/ref/alice001/", query=QUERY, headers={"User-Agent": CHROME})
    full = client.get("/ref/alice001/", QUERY_STRING=QUERY, HTTP_USER_AGENT=CHROME)
    assert fast.status == full.status_code == 302
    assert fast.header("Location") == full["Location"] == "/exchange/?cur_from=PMUSD&cur_to=BTC"
    assert fast.header("Cache-Control") == full["Cache-Control"] == "no-store"
    assert fast.body == b""
    assert set(fast.cookies) == set(full.cookies) >= {REF_COOKIE, USER_HASH_COOKIE}
    for name, morsel in fast.cookies.items():
        for attribute in ("max-age", "path", "httponly", "samesite", "secure"):
            assert str(morsel[attribute]) == str(full.cookies[name][attribute]), (name, attribute)
    # The security middleware's headers, as on every other answer.
    for header in ("X-Content-Type-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy"):
        assert fast.header(header) == full.get(header) is not None, header
    stored = list(Click.objects.filter(partner=alice).order_by("created_at"))
    assert len(stored) == 2
    assert [c.sub1 for c in stored] == ["tg", "tg"]
    assert stored[0].user_hash == fast.cookies[USER_HASH_COOKIE].value


def test_robot_head_post_and_other_paths(alice, pm_btc):
    robot = wsgi_request("/ref/alice001/", query=QUERY, headers={"User-Agent": GOOGLEBOT})
    assert robot.status == 302 and not robot.cookies
    head = wsgi_request("/ref/alice001/", method="HEAD", headers={"User-Agent": CHROME})
    assert head.status == 302 and head.body == b""
    assert list(Click.objects.values_list("is_bot", flat=True)) == [True]  # HEAD records none
    # Not the fast path's: Django answers them as its URLconf and middleware say.
    assert wsgi_request("/ref/alice001/", method="POST").status == 403  # CSRF middleware
    assert wsgi_request("/ref/alice001", headers={"User-Agent": CHROME}).status == 301
    assert Click.objects.count() == 1


def test_unknown_host_is_refused_and_records_nothing(alice, pm_btc):
    answer = wsgi_request("/ref/alice001/", headers={"User-Agent": CHROME,
                                                     "Host": "evil.example"})
    assert answer.status == 400
    assert not Click.objects.exists()


@override_settings(SECURE_SSL_REDIRECT=True, SECURE_HSTS_SECONDS=3600,
                   SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_https_redirect_and_hsts_apply(alice, pm_btc):
    app = with_ref_fast_path(get_wsgi_application())  # middleware reads settings when built
    answer = wsgi_request("/ref/alice001/", query=QUERY, headers={"User-Agent": CHROME},
                          application=app)
    assert answer.status == 301
    assert answer.header("Location") == f"https://127.0.0.1:8000/ref/alice001/?{QUERY}"
    assert not Click.objects.exists()  # the click is recorded when it arrives over HTTPS
    secure = wsgi_request("/ref/alice001/", query=QUERY, application=app,
                          headers={"User-Agent": CHROME, "X-Forwarded-Proto": "https"})
    assert secure.status == 302
    assert secure.header("Strict-Transport-Security") == "max-age=3600"
    assert Click.objects.count() == 1
