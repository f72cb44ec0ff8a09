"""Partners log in with e-mail and password; brute force is locked out (signing up:
test_signup.py)."""

from __future__ import annotations

import pytest

from obmin.testing.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def login(client, email, password):
    return client.post("/cabinet/login/", {"username": email, "password": password})


def test_login_with_email_any_case_lands_on_the_partnership_link(client, alice):
    response = login(client, "Alice@Example.com", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/cabinet/"
    page = client.get("/cabinet/").content.decode()
    assert "/ref/alice001/" in page


def test_wrong_password_is_refused(client, alice):
    response = login(client, "alice@example.com", "wrong-password")
    assert response.status_code == 200
    assert "Please enter a correct" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_brute_force_is_locked_out_even_with_the_right_password(client, alice):
    for _ in range(5):
        login(client, "alice@example.com", "wrong-password")
    response = login(client, "alice@example.com", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_cabinet_needs_login(client):
    response = client.get("/cabinet/")
    assert response.status_code == 302 and "/cabinet/login/" in response["Location"]


def test_non_partner_user_is_told_so(client):
    client.force_login(UserFactory(email="plain@example.com"))
    assert client.get("/cabinet/").status_code == 403
