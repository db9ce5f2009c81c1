"""``/openapi.json`` matches what the server does."""

from __future__ import annotations

import json

import jsonschema
import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from outcomes.server._openapi import OPERATIONS


def resolved(schema: dict, document: dict) -> dict:
    """``schema`` with the document's components, for jsonschema to follow ``$ref``s."""
    return {**schema, "components": document["components"]}


def test_every_route_is_documented_and_every_documented_path_is_served(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    served = {
        (route.path, method.lower())
        for route in client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert served == documented
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            assert op["summary"], (path, method)
            assert op["responses"]["default"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }


@pytest.mark.parametrize("op", [op for op in OPERATIONS if op.body is not None], ids=str)
def test_examples_match_the_schema_and_the_server_takes_them(
    client: TestClient, op: object
) -> None:
    document = client.get("/openapi.json").json()
    body = document["paths"][op.path][op.method.lower()]["requestBody"]  # type: ignore[attr-defined]
    media = body["content"]["application/json"]
    jsonschema.validate(media["example"], resolved(media["schema"], document))
    answer = client.request(op.method, op.path, json=media["example"])  # type: ignore[attr-defined]
    assert answer.status_code == 200, answer.text
    promised = document["paths"][op.path][op.method.lower()]["responses"]["200"]  # type: ignore[attr-defined]
    if "content" in promised:
        schema = promised["content"]["application/json"]["schema"]
        jsonschema.validate(answer.json(), resolved(schema, document))
        report = answer.json()
        # every example is accepted, except a label for an observation that does not exist
        assert report["rejected"] == (1 if op.path == "/v1/shadow/labels" else 0)  # type: ignore[attr-defined]


def test_a_body_the_schema_refuses_the_server_refuses_too(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    media = document["paths"]["/v1/route"]["post"]["requestBody"]["content"]["application/json"]
    bad = {"task": "code", "max_cost_usd": -1}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, resolved(media["schema"], document))
    assert client.post("/v1/route", json=bad).status_code == 422


def test_the_document_is_json_and_names_the_bearer_scheme(client: TestClient) -> None:
    raw = client.get("/openapi.json")
    document = json.loads(raw.content)
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["paths"]["/healthz"]["get"]["security"] == []
