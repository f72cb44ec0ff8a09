"""Sign-up by proof: the same answer for any e-mail, the inbox learns the rest, and an account
exists only once the link is followed."""

from __future__ import annotations

import re
import time

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from obmin.partners.attribution import REF_COOKIE
from obmin.partners.models import Partner
from obmin.partners.services import signup_token_make

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-pass-phrase-7"
LINK = re.compile(r"https?://\S+")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def sign_up(client, capture, email):
    with capture(execute=True):
        return client.post("/cabinet/signup/", {"email": email})


def without_csrf(response):
    """A page's text without its CSRF token, which differs on every answer."""
    return CSRF.sub("", response.content.decode())


def link_in(mail):
    """The path of the e-mail's one link, which names the public address (SITE_URL)."""
    [url] = LINK.findall(mail.body)
    assert url.startswith(settings.SITE_URL + "/"), url
    return url.removeprefix(settings.SITE_URL)


def test_new_address_gets_a_link_and_the_account_exists_only_once_it_is_followed(
        client, mailoutbox, django_capture_on_commit_callbacks):
    response = sign_up(client, django_capture_on_commit_callbacks, "New@Example.com")
    assert response.status_code == 302 and response["Location"] == "/cabinet/signup/sent/"
    assert not get_user_model().objects.filter(username="new@example.com").exists()
    [mail] = mailoutbox
    assert mail.to == ["new@example.com"]
    path = link_in(mail)
    assert path.startswith("/cabinet/signup/confirm/")
    # Nobody can log in before the link is followed: there is no account to log into.
    assert client.post("/cabinet/login/", {"username": "new@example.com",
                                           "password": NEW_PASSWORD}).status_code == 200
    assert "_auth_user_id" not in client.session

    page = client.get(path)
    assert page.status_code == 200 and "new@example.com" in page.content.decode()
    response = client.post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/cabinet/"
    partner = Partner.objects.get(user__email="new@example.com")
    assert partner.export_code == partner.ref_code
    assert partner.user.password.startswith("argon2")
    assert partner.ref_code in client.get("/cabinet/").content.decode()
    # The link has done its work: following it again makes nothing more.
    again = client.post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert again.status_code == 200 and "has an account already" in again.content.decode()
    assert Partner.objects.filter(user__email="new@example.com").count() == 1


def test_known_and_unknown_addresses_get_the_same_answer(
        client, alice, mailoutbox, django_capture_on_commit_callbacks):
    known = sign_up(client, django_capture_on_commit_callbacks, "alice@example.com")
    unknown = sign_up(client, django_capture_on_commit_callbacks, "nobody@example.com")
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert known.content == unknown.content
    sent_page = client.get(known["Location"]).content.decode()
    assert "alice@example.com" not in sent_page
    note, link = mailoutbox
    assert note.to == ["alice@example.com"]
    assert "already" in note.subject and "/cabinet/password/reset/" in note.body
    assert "/signup/confirm/" not in note.body
    assert link.to == ["nobody@example.com"] and "/cabinet/signup/confirm/" in link.body
    assert Partner.objects.count() == 1


def test_the_referral_cookie_names_the_referrer_of_the_new_partner(
        client, alice, mailoutbox, django_capture_on_commit_callbacks):
    client.cookies[REF_COOKIE] = f"{alice.pk}.{int(time.time())}"
    sign_up(client, django_capture_on_commit_callbacks, "friend@example.com")
    path = link_in(mailoutbox[0])
    # Followed in another browser (no cookie there): the link carries the referrer.
    other = Client()
    other.post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert Partner.objects.get(user__email="friend@example.com").referred_by == alice


@pytest.mark.parametrize(("data", "error"), [
    ({"password1": NEW_PASSWORD, "password2": "another-pass-phrase-8"}, "differ"),
    ({"password1": "123", "password2": "123"}, "too short"),
])
def test_a_weak_or_mistyped_password_makes_no_account(client, data, error):
    path = f"/cabinet/signup/confirm/{signup_token_make(email='x@example.com')}/"
    response = client.post(path, data)
    assert response.status_code == 400 and error in response.content.decode()
    assert not Partner.objects.exists()


def test_a_damaged_link_makes_no_account(client):
    token = signup_token_make(email="x@example.com")
    response = client.post(f"/cabinet/signup/confirm/{token[:-2]}xx/",
                           {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 400 and "damaged" in response.content.decode()
    assert not Partner.objects.exists()


def test_a_bad_address_is_refused_on_the_form(client, mailoutbox):
    response = client.post("/cabinet/signup/", {"email": "not-mail"})
    assert response.status_code == 400 and "valid email" in response.content.decode()
    assert mailoutbox == []


def test_the_rate_limit_refuses_before_the_form_is_read(
        client, alice, settings, mailoutbox, django_capture_on_commit_callbacks):
    settings.ACCOUNT_RATE_PER_IP = "2/h"
    for email in ("one@example.com", "two@example.com"):
        assert sign_up(client, django_capture_on_commit_callbacks, email).status_code == 302
    # Past the limit every request gets the same refusal: a known e-mail, a new one, even a
    # malformed one (no validation ran), and nothing is sent.
    answers = {without_csrf(sign_up(client, django_capture_on_commit_callbacks, email))
               for email in ("alice@example.com", "three@example.com", "not-mail")}
    [text] = answers
    assert "Too many requests" in text and "valid email" not in text
    assert "alice@example.com" not in text
    assert len(mailoutbox) == 2


def test_one_address_cannot_be_flooded_with_sign_up_mail(
        client, settings, mailoutbox, django_capture_on_commit_callbacks):
    settings.ACCOUNT_RATE_PER_EMAIL = "2/h"
    codes = [sign_up(client, django_capture_on_commit_callbacks, "victim@example.com")
             .status_code for _ in range(4)]
    assert codes == [302, 302, 429, 429]
    assert len(mailoutbox) == 2
