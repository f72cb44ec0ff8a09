"""API v1 in the docs page and the OpenAPI document, checked against what the endpoint does."""

from __future__ import annotations

import pytest

from obmin.partner_api.models import ApiKey
from obmin.partner_api.services import apikey_create
from obmin.partner_api.tests.conftest import parse
from obmin.partner_api.v1.catalog import ALL_METHODS
from obmin.partner_api.v1.docs import METHODS


@pytest.mark.django_db
def test_docs_page_lists_every_v1_method_and_says_which_to_use(client):
    page = client.get("/partners/api/").content.decode()
    assert "API-LOGIN" in page and "Which one to use" in page
    for name in ALL_METHODS:
        assert f'id="v1-{name}"' in page


@pytest.mark.django_db
def test_openapi_has_a_post_and_a_get_per_v1_method_beside_api_php(client):
    document = client.get("/service/partner/openapi.json").json()
    assert "/service/partner/api.php" in document["paths"]
    for name in ALL_METHODS:
        operation = document["paths"][f"/api/userapi/v1/{name}"]
        assert list(operation) == ["post", "get"]
        # The answer's schema is the method's table: create_bid's error is the string "0".
        success = operation["post"]["responses"]["200"]["content"]["application/json"][
            "schema"]["oneOf"][0]
        assert success["properties"]["error"]["type"] == (
            "string" if name == "create_bid" else "integer")
    assert document["components"]["securitySchemes"]["v1_key"]["name"] == "API-KEY"


@pytest.mark.django_db
def test_documented_required_parameters_are_the_ones_the_endpoint_asks_for(client, alice,
                                                                          pm_btc):
    """Each documented required parameter, left out, is refused naming it (or the direction
    / bid it names is not found); nothing documented as required is missing from the docs."""
    key, raw = apikey_create(partner=alice)
    ApiKey.objects.filter(pk=key.pk).update(may_complete_bids=True)
    headers = {"API-LOGIN": key.login, "API-KEY": raw}
    for method in METHODS:
        required = [p.name for p in method.params if p.required]
        if not required:
            answer = parse(client.post(f"/api/userapi/v1/{method.name}", headers=headers))
            assert answer["error"] in (0, 4, 6), (method.name, answer)
            continue
        answer = parse(client.post(f"/api/userapi/v1/{method.name}", headers=headers))
        assert answer["error"] == 4, (method.name, answer)
        assert set(answer["error_fields"]) <= set(required), (method.name, answer)


@pytest.mark.django_db
def test_docs_page_shows_each_answers_fields_and_the_differences_from_premium(client):
    page = client.get("/partners/api/").content.decode()
    assert "<code>api_actions.pay</code>" in page and "<code>sum_give_com</code>" in page
    assert "Where Obmin differs from Premium" in page
