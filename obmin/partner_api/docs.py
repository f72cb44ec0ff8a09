"""The partner documentation's examples and the OpenAPI document, built from `schema.py`.

Examples are real answers: the endpoint's own method code run on the sandbox of a fixed
documentation key at a fixed moment, so they are realistic and always have today's fields.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from django.utils.translation import get_language, override
from django.utils.translation import gettext as _

from obmin.partner_api.envelope import ApiError, envelope
from obmin.partner_api.methods import HANDLERS
from obmin.partner_api.models import ApiKey
from obmin.partner_api.sandbox import SandboxSource
from obmin.partner_api.schema import COMMON_PARAMS, ERRORS, METHODS, Field, Method, api_url

EXAMPLE_NOW = datetime(2024, 7, 1, tzinfo=UTC)
EXAMPLE_ITEMS = 2


def _answer(method: Method) -> dict[str, Any]:
    key = ApiKey(key_hash=hashlib.sha256(b"obmin documentation").hexdigest(), is_test=True)
    with override("en"):  # the endpoint answers in English (views.in_english)
        response = HANDLERS[method.name](SandboxSource(key, now=EXAMPLE_NOW),
                                         dict(method.example_options))
    answer = json.loads(response.getvalue())  # the whole body, streamed or not
    items = answer["data"].get("items")
    if isinstance(items, dict):
        answer["data"]["items"] = dict(list(items.items())[:EXAMPLE_ITEMS])
    return answer


@lru_cache(maxsize=8)
def _examples(language: str | None) -> dict[str, dict[str, Any]]:
    return {method.name: _answer(method) for method in METHODS}


def examples() -> dict[str, dict[str, Any]]:
    """method name -> an example answer (a parsed envelope), items shortened to two."""
    return _examples(get_language())


def error_example() -> dict[str, Any]:
    with override("en"):  # error_text is English whatever the page's language
        error = ApiError(4, "start_time: "
                         + _("a whole number from %(min)s to %(max)s is expected.")
                         % {"min": 0, "max": 253402300799})
    return json.loads(envelope(error=error.code, text=error.text))


def curl(method: Method) -> str:
    data = "".join(f" \\\n  -d {name}={value}" for name, value in method.example_options.items())
    return (f"curl -s -H 'Authorization: Bearer YOUR_API_KEY' \\\n"
            f"  -d api_action=pp -d method={method.name}{data} \\\n  {api_url()}")


def curl_query(method: Method) -> str:
    query = "&".join([f"api_action=pp&api_key=YOUR_API_KEY&method={method.name}",
                      *(f"{k}={v}" for k, v in method.example_options.items())])
    return f"curl -s '{api_url()}?{query}'"


# --- OpenAPI --------------------------------------------------------------------------------


def _object(fields: tuple[Field, ...]) -> dict[str, Any]:
    return {"type": "object", "required": [f.name for f in fields],
            "properties": {f.name: _property(f) for f in fields},
            "additionalProperties": False}


def _property(f: Field) -> dict[str, Any]:
    if f.type == "array":
        return {"type": "array", "description": str(f.description), "items": _object(f.fields)}
    if f.type == "object":
        return {"type": "object", "description": str(f.description),
                "additionalProperties": _object(f.fields)}
    return {"type": f.type, "description": str(f.description)}


def _envelope(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["status", "error", "error_text", "data"],
        "properties": {
            "status": {"type": "string", "enum": ["success", "error"]},
            "error": {"type": "integer", "enum": [0, *(code for code, _text in ERRORS)]},
            "error_text": {"type": "string"},
            "data": data,
        },
        "additionalProperties": False,
    }


def _parameter(param: Any, *, method_names: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": param.type}
    if param.name == "api_action":
        schema["enum"] = ["pp"]
    if param.name == "method":
        schema["enum"] = method_names
    return {"name": param.name, "in": "query", "required": param.required,
            "description": str(param.description), "schema": schema}


def openapi() -> dict[str, Any]:
    names = [m.name for m in METHODS]
    params: dict[str, Any] = {}
    for param in COMMON_PARAMS:
        params[param.name] = _parameter(param, method_names=names)
    for method in METHODS:
        for param in method.params:
            entry = _parameter(param)
            entry["required"] = False  # required by its method only
            entry["description"] = f"{method.name}: {entry['description']}"
            params.setdefault(param.name, entry)
    schemas = {f"{m.name}_data": _object(m.data) for m in METHODS}
    schemas["error_data"] = {"type": "object", "maxProperties": 0}
    # anyOf, not oneOf: an empty `items` fits every list method.
    answer = {"anyOf": [_envelope({"$ref": f"#/components/schemas/{name}"})
                        for name in schemas]}
    answer_examples = {name: {"summary": str(m.summary), "value": examples()[name]}
                       for name, m in zip(names, METHODS, strict=True)}
    answer_examples["error"] = {"summary": _("An error"), "value": error_example()}
    errors = "\n".join(f"- {code}: {text}" for code, text in ERRORS)
    responses = {
        "200": {"description": _("The envelope; errors 1 to 4 too (status error)."),
                "content": {"application/json": {"schema": answer,
                                                 "examples": answer_examples}}},
        "429": {"description": _("Too many requests (error 5)."),
                "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                "content": {"application/json": {"schema": _envelope(
                    {"$ref": "#/components/schemas/error_data"})}}},
    }
    description = "\n\n".join(
        [_("Partner API, compatible with the original api.php. Every parameter may come in "
           "the query string or the form body. Errors answer HTTP 200 with status error "
           "(429 for error 5)."), _("Methods:"),
         "\n".join(f"- {m.name}: {m.summary}" for m in METHODS), _("Errors:"), errors])
    operation = {
        "summary": _("Partner API"),
        "description": description,
        "parameters": list(params.values()),
        "responses": responses,
        "security": [{"api_key": []}, {"bearer": []}],
    }
    form = {"type": "object", "properties": {name: p["schema"] for name, p in params.items()}}
    post = {**operation, "operationId": "api_post", "parameters": [],
            "requestBody": {"content": {"application/x-www-form-urlencoded": {
                "schema": form}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": _("Obmin partner API"), "version": "1.0"},
        "servers": [{"url": api_url().rsplit("/service/", 1)[0]}],
        "paths": {"/service/partner/api.php": {"get": {**operation, "operationId": "api_get"},
                                                "post": post}},
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "api_key": {"type": "apiKey", "in": "query", "name": "api_key"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }
