"""Account care: password reset through the e-mail link, password change ending every
session, e-mail change confirmed by the new address, profile, answers that tell nobody which
e-mails have accounts."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from obmin.partners.models import Partner
from obmin.testing.factories import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-pass-phrase-8"


def link_paths(body: str) -> list[str]:
    """The paths of the e-mail's links, each of which names the public address (SITE_URL)."""
    return re.findall(re.escape(settings.SITE_URL) + r"(/\S+)", body)
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def logged_in(email: str, password: str = PASSWORD) -> Client:
    client = Client()
    response = client.post("/cabinet/login/", {"username": email, "password": password})
    assert response.status_code == 302, response.content
    return client


def text(response) -> str:
    return CSRF.sub("", response.content.decode())


def test_password_reset_through_the_email_link_logs_out_every_session(
        client, alice, mailoutbox, django_capture_on_commit_callbacks):
    elsewhere = logged_in("alice@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/cabinet/password/reset/", {"email": "Alice@Example.com"})
    assert response.status_code == 302
    assert response["Location"] == "/cabinet/password/reset/sent/"
    [mail] = mailoutbox
    assert mail.to == ["alice@example.com"]
    [path] = link_paths(mail.body)
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200 and "new_password1" in form_page.content.decode()
    done = client.post(form_page.redirect_chain[-1][0],
                       {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/cabinet/password/reset/done/"
    # The other browser's session ended; the new password opens the cabinet.
    assert elsewhere.get("/cabinet/").status_code == 302
    assert logged_in("alice@example.com", NEW_PASSWORD).get("/cabinet/").status_code == 200
    # The link worked once.
    assert "does not work" in client.get(path, follow=True).content.decode()


def test_password_reset_answers_the_same_for_an_unknown_email(
        client, alice, mailoutbox, django_capture_on_commit_callbacks):
    answers = []
    for email in ("alice@example.com", "nobody@example.com"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/cabinet/password/reset/", {"email": email})
        answers.append((response.status_code, response["Location"],
                        text(client.get(response["Location"]))))
    assert answers[0] == answers[1]
    known, unknown = mailoutbox
    assert known.to == ["alice@example.com"] and "/cabinet/password/reset/" in known.body
    assert unknown.to == ["nobody@example.com"] and "no account" in unknown.body
    assert "/cabinet/signup/" in unknown.body


def test_password_reset_is_rate_limited_before_the_form_is_read(
        client, alice, settings, mailoutbox, django_capture_on_commit_callbacks):
    settings.ACCOUNT_RATE_PER_EMAIL = "1/h"
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/cabinet/password/reset/", {"email": "alice@example.com"})
        refused = client.post("/cabinet/password/reset/", {"email": "alice@example.com"})
    assert refused.status_code == 429 and "Too many requests" in refused.content.decode()
    assert len(mailoutbox) == 1


def test_login_answers_the_same_for_a_wrong_password_and_an_unknown_email(client, alice):
    wrong = client.post("/cabinet/login/", {"username": "alice@example.com",
                                            "password": "wrong-password"})
    unknown = client.post("/cabinet/login/", {"username": "nobody@example.com",
                                              "password": "wrong-password"})
    assert wrong.status_code == unknown.status_code == 200
    assert text(wrong).replace("alice@example.com", "E") == \
        text(unknown).replace("nobody@example.com", "E")


def test_lockout_comes_for_unknown_emails_too(client, alice):
    codes = {}
    for email in ("alice@example.com", "nobody@example.com"):
        for _ in range(5):
            client.post("/cabinet/login/", {"username": email, "password": "wrong-password"})
        locked = client.post("/cabinet/login/", {"username": email, "password": PASSWORD})
        codes[email] = (locked.status_code, locked.content)
    assert codes["alice@example.com"] == codes["nobody@example.com"]
    assert codes["alice@example.com"][0] == 429


def test_password_change_logs_out_every_session(alice):
    here, elsewhere = logged_in("alice@example.com"), logged_in("alice@example.com")
    refused = here.post("/cabinet/account/password/", {
        "old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert refused.status_code == 400
    response = here.post("/cabinet/account/password/", {
        "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/cabinet/login/"
    for client in (here, elsewhere):
        assert client.get("/cabinet/").status_code == 302
    assert logged_in("alice@example.com", NEW_PASSWORD).get("/cabinet/").status_code == 200


def test_email_change_waits_for_the_new_address_to_confirm(
        alice, mailoutbox, django_capture_on_commit_callbacks):
    client = logged_in("alice@example.com")
    assert client.post("/cabinet/account/email/", {"email": "a@example.org",
                                                   "password": "wrong"}).status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/cabinet/account/email/", {"email": "Alice@Example.org",
                                                           "password": PASSWORD})
    assert response.status_code == 302
    alice.user.refresh_from_db()
    assert alice.user.email == "alice@example.com"  # nothing changed yet
    [mail] = mailoutbox
    assert mail.to == ["alice@example.org"]
    [path] = link_paths(mail.body)
    # bob, logged in, cannot use alice's link.
    bob_client = Client()
    bob_client.force_login(Partner.objects.create(
        user=get_user_model().objects.create_user("bob@example.com", "bob@example.com",
                                                  PASSWORD), ref_code="bob00002").user)
    bob_client.post(path)
    alice.user.refresh_from_db()
    assert alice.user.email == "alice@example.com"

    assert "alice@example.org" in client.get(path).content.decode()  # a GET changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(path).status_code == 302
    alice.user.refresh_from_db()
    assert (alice.user.email, alice.user.username) == ("alice@example.org", "alice@example.org")
    assert mailoutbox[-1].to == ["alice@example.com"]  # the old address is told
    assert logged_in("alice@example.org").get("/cabinet/").status_code == 200
    # Used once: the e-mail has changed since the link was made.
    client.post(path)
    alice.user.refresh_from_db()
    assert alice.user.email == "alice@example.org"


def test_email_change_to_a_taken_address_tells_only_that_inbox(
        alice, bob, mailoutbox, django_capture_on_commit_callbacks):
    client = logged_in("alice@example.com")
    answers = []
    for email in ("bob@example.com", "free@example.com"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/cabinet/account/email/", {"email": email,
                                                               "password": PASSWORD})
        answers.append(response.status_code)
    assert answers == [302, 302]
    taken, free = mailoutbox
    assert taken.to == ["bob@example.com"] and "/confirm/" not in taken.body
    assert free.to == ["free@example.com"] and "/cabinet/account/email/confirm/" in free.body
    alice.user.refresh_from_db()
    assert alice.user.email == "alice@example.com"


def test_profile_time_zone_and_language_apply_to_the_cabinet(alice):
    client = logged_in("alice@example.com")
    assert client.post("/cabinet/account/", {"time_zone": "Mars/Base",
                                              "language": ""}).status_code == 400
    response = client.post("/cabinet/account/", {"time_zone": "Europe/Kyiv", "language": "uk"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.time_zone, alice.language) == ("Europe/Kyiv", "uk")
    assert "Партнерська програма" in client.get("/cabinet/").content.decode()
    # Another browser: logging in brings the partner's language.
    other = logged_in("alice@example.com")
    assert response.cookies["django_language"].value == "uk"
    assert "Партнерська програма" in other.get("/cabinet/").content.decode()


def test_reset_email_is_in_the_partners_language(
        client, alice, mailoutbox, django_capture_on_commit_callbacks):
    alice.language = "uk"
    alice.save()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/cabinet/password/reset/", {"email": "alice@example.com"})
    [mail] = mailoutbox
    assert "пароль" in mail.body.lower()
