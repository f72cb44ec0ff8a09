"""'Create API Access' for API v1: the login beside the key (both shown), a chosen method set."""

from __future__ import annotations

import json

import pytest

from obmin.partner_api.models import ApiKey

pytestmark = pytest.mark.django_db


def test_the_login_and_the_key_are_shown_once_and_work_on_v1(client, alice):
    client.force_login(alice.user)
    response = client.post("/cabinet/api/", {"name": "bot",
                                             "methods": ["test", "get_partner_info"]})
    assert response.status_code == 200
    page = response.content.decode()
    key = ApiKey.objects.get(partner=alice)
    raw = response.context["new_key"]["raw"]
    assert key.login in page and raw in page
    assert key.methods == ["test", "get_partner_info"]
    later = client.get("/cabinet/api/").content.decode()
    assert key.login in later and raw not in later  # the login is public, the key shown once
    client.logout()
    headers = {"API-LOGIN": key.login, "API-KEY": raw}
    answer = json.loads(client.post("/api/userapi/v1/test", headers=headers).content)
    assert answer["error"] == 0 and answer["data"]["partner_id"] == str(alice.pk)
    answer = json.loads(client.post("/api/userapi/v1/get_partner_links",
                                    headers=headers).content)
    assert answer["error_text"] == "Method not supported"


def test_an_unknown_method_is_a_form_error_and_creates_nothing(client, alice):
    client.force_login(alice.user)
    response = client.post("/cabinet/api/", {"methods": ["no_such_method"]})
    assert response.status_code == 400
    assert not ApiKey.objects.exists()
