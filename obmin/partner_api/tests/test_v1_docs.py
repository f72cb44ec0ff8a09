"""API v1 in the docs page and the OpenAPI document, checked against what the endpoint does."""

from __future__ import annotations

import pytest

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
def test_openapi_has_one_post_per_v1_method_beside_api_php(client):
    document = client.get("/service/partner/openapi.json").json()
    assert "/service/partner/api.php" in document["paths"]
    for name in ALL_METHODS:
        operation = document["paths"][f"/api/userapi/v1/{name}"]
        assert list(operation) == ["post"]
    assert document["components"]["securitySchemes"]["v1_key"]["name"] == "API-KEY"


@pytest.mark.django_db
def test_documented_required_parameters_are_the_ones_the_endpoint_asks_for(client, alice,
                                                                          pm_btc):
    """Each documented required parameter, left out, is refused naming it (or the direction
    / bid it names is not found); nothing documented as required is missing from the docs."""
    key, raw = apikey_create(partner=alice)
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
