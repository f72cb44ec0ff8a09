"""While the database is unreachable, pages that need it answer a short 503 page (no
traceback, no database, Retry-After), while /ref/ keeps redirecting."""

from __future__ import annotations

import pytest
from django.test import Client

from obmin.partners.tests.conftest import CHROME
from obmin.partners.tests.test_click_ingest import database_unreachable


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/", "/exchange/", "/cabinet/", "/cabinet/stats/"])
def test_pages_needing_the_database_answer_a_short_503(path, pm_btc, alice):
    browser = Client(raise_request_exception=False)
    browser.force_login(alice.user)  # the session itself is in the database
    with database_unreachable():
        answer = browser.get(path, follow=False)
    assert answer.status_code == 503, answer.content[:300]
    assert answer["Retry-After"] == "30"
    page = answer.content.decode()
    assert "Back in a moment" in page and "Traceback" not in page and len(page) < 1000


@pytest.mark.django_db(transaction=True)
def test_ukrainian_visitors_read_it_in_ukrainian(pm_btc):
    browser = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="uk")
    with database_unreachable():
        answer = browser.get("/exchange/")
    assert answer.status_code == 503
    assert "Повернемося за мить" in answer.content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_partner_link_still_redirects(alice, pm_btc):
    browser = Client(raise_request_exception=False)
    browser.get("/ref/alice001/", QUERY_STRING="cur_from=PMUSD", HTTP_USER_AGENT=CHROME)
    with database_unreachable():
        answer = browser.get("/ref/alice001/", QUERY_STRING="cur_from=PMUSD",
                             HTTP_USER_AGENT=CHROME)
    assert answer.status_code == 302
