"""The documentation page and the OpenAPI document say what the endpoint really answers."""

from __future__ import annotations

import html
import json
import re

import pytest

from obmin.partner_api import schema
from obmin.partner_api.methods import HANDLERS
from obmin.testing.factories import usable_wallet

PAGE = "/partners/api/"
OPENAPI = "/service/partner/openapi.json"


def shape(value):
    """Field names and JSON types, recursively; an object keyed by ids collapses to one item."""
    if isinstance(value, dict):
        if value and all(key.isdigit() for key in value):
            merged = {shape(item) for item in value.values()}
            assert len(merged) == 1, merged
            return ("items", merged.pop())
        return ("object", tuple(sorted((k, shape(v)) for k, v in value.items())))
    if isinstance(value, list):
        merged = {shape(item) for item in value}
        return ("array", tuple(sorted(merged)))
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def real_answers(api, alice_key, usdt_method, history):
    answers = {}
    for name in schema.METHOD_NAMES:
        if name == "add_payout":
            from obmin.partner_api.tests.conftest import make_exchange

            make_exchange(history["exchanges"][0].direction, history["exchanges"][0].partner,
                          1_717_300_000, "5000", status="success")
            options = {"method_id": usdt_method.pk, "account": "TQdocs"}
            usable_wallet(history["exchanges"][0].partner, usdt_method.pk, "TQdocs")
        else:
            options = {}
        _r, answers[name] = api(alice_key, name, **options)
        assert answers[name]["error"] == 0, answers[name]
    return answers


def page_examples(client) -> dict:
    text = client.get(PAGE).content.decode()
    found = re.findall(r'<pre class="example" data-example="(\w+)">(.*?)</pre>', text, re.S)
    return {name: json.loads(html.unescape(body)) for name, body in found}


def test_every_method_in_the_docs_is_served():
    assert set(HANDLERS) == set(schema.METHOD_NAMES)


def test_page_names_every_method_parameter_field_and_error(client, db):
    response = client.get(PAGE)
    assert response.status_code == 200
    text = response.content.decode()

    def names(fields):
        for f in fields:
            yield f.name
            yield from names(f.fields)

    for method in schema.METHODS:
        assert f'id="{method.name}"' in text
        for param in (*schema.COMMON_PARAMS, *method.params):
            assert f"<code>{param.name}</code>" in text
        for name in names(method.data):
            assert f'data-field="{name}"' in text
        assert f"-d method={method.name}" in text and schema.api_url() in text
        assert "Authorization: Bearer" in text
    for code, _text in schema.ERRORS:
        assert f'id="error-{code}"' in text
    assert "obm_test_" in text and OPENAPI in text


def test_page_examples_have_the_real_answers_fields(client, api, history, alice_key,
                                                    usdt_method):
    examples = page_examples(client)
    assert set(examples) == {*schema.METHOD_NAMES, "error"}
    real = real_answers(api, alice_key, usdt_method, history)
    for name in schema.METHOD_NAMES:
        assert shape(examples[name]) == shape(real[name]), name
    _r, error = api(alice_key, "get_links", start_time="x")
    assert shape(examples["error"]) == shape(error)


def test_schema_fields_are_the_real_fields(api, history, alice_key, usdt_method):
    real = real_answers(api, alice_key, usdt_method, history)
    for method in schema.METHODS:
        data = real[method.name]["data"]
        assert set(data) == {f.name for f in method.data}
        for item in data.get("items", {}).values():
            assert set(item) == {f.name for f in method.item_fields}


# --- OpenAPI: a small validator for the subset of JSON Schema the document uses -----------


def validate(value, spec, root) -> bool:
    if "$ref" in spec:
        target = root
        for part in spec["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return validate(value, target, root)
    if "anyOf" in spec:
        return any(validate(value, option, root) for option in spec["anyOf"])
    if "enum" in spec and value not in spec["enum"]:
        return False
    kind = spec.get("type")
    checks = {"integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
              "string": lambda v: isinstance(v, str), "array": lambda v: isinstance(v, list),
              "object": lambda v: isinstance(v, dict)}
    if kind and not checks[kind](value):
        return False
    if kind == "array":
        return all(validate(item, spec["items"], root) for item in value)
    if kind == "object" or "properties" in spec:
        if len(value) > spec.get("maxProperties", len(value)):
            return False
        if not set(spec.get("required", ())) <= set(value):
            return False
        properties = spec.get("properties", {})
        extra = spec.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                if not validate(item, properties[key], root):
                    return False
            elif extra is False or isinstance(extra, dict) and not validate(item, extra, root):
                return False
    return True


@pytest.fixture
def openapi(client, db):
    response = client.get(OPENAPI)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    return response.json()


def test_openapi_document(openapi):
    assert openapi["openapi"].startswith("3.")
    operation = openapi["paths"]["/service/partner/api.php"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["method"]["schema"]["enum"] == list(schema.METHOD_NAMES)
    for method in schema.METHODS:
        for param in method.params:
            assert param.name in params
    assert "post" in openapi["paths"]["/service/partner/api.php"]
    assert set(openapi["components"]["securitySchemes"]) == {"api_key", "bearer", "v1_login",
                                                             "v1_key"}


def test_real_answers_fit_the_openapi_schema(openapi, api, history, alice_key, alice_test_key,
                                             usdt_method):
    answer = openapi["paths"]["/service/partner/api.php"]["get"]["responses"]["200"][
        "content"]["application/json"]
    real = real_answers(api, alice_key, usdt_method, history)
    for name, body in real.items():
        assert validate(body, answer["schema"], openapi), name
        # ... and to the method's own data schema, not just any of them.
        assert validate(body["data"], openapi["components"]["schemas"][f"{name}_data"],
                        openapi), name
    for name in ("get_info", "get_exchanges", "get_links", "get_payouts"):
        _r, body = api(alice_test_key, name, start_time=1_717_200_000, end_time=1_717_300_000)
        assert validate(body["data"], openapi["components"]["schemas"][f"{name}_data"],
                        openapi), name
    for name, example in answer["examples"].items():
        assert validate(example["value"], answer["schema"], openapi), name
    _r, error = api(alice_key, "nope")
    assert validate(error, answer["schema"], openapi)
    # A field the contract does not have would not pass.
    broken = json.loads(json.dumps(real["get_links"]))
    next(iter(broken["data"]["items"].values()))["extra"] = 1
    assert not validate(broken["data"], openapi["components"]["schemas"]["get_links_data"],
                        openapi)
