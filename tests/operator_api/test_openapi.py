"""GET /api/openapi.json names exactly the /api/ routes Flask serves."""

import re

from webhook_receiver.operator_api.openapi import document

IMPLICIT = {"HEAD", "OPTIONS"}


def served_api_routes(app):
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods - IMPLICIT:
            routes.add((path, method.lower()))
    return routes


def documented_routes(doc):
    return {
        (path, method)
        for path, operations in doc["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }


def test_every_api_route_is_documented_and_every_documented_route_is_served(app, api):
    served = served_api_routes(app)
    assert ("/api/cloudinary/webhook", "post") in served
    assert ("/api/assets/{public_id}/history", "get") in served
    answer = api.get("/api/openapi.json")
    assert answer.status_code == 200
    doc = answer.get_json()
    assert doc == document()
    assert documented_routes(doc) == served


def test_the_document_is_openapi_3_1_with_bearer_auth_and_path_parameters(app):
    doc = document()
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path, operations in doc["paths"].items():
        names = set(re.findall(r"{([a-z_]+)}", path))
        for operation in operations.values():
            declared = {
                p["name"] for p in operation.get("parameters", []) if p["in"] == "path"
            }
            assert declared == names, path
            assert operation["responses"], path
    # the webhook alias is signed by Cloudinary, not by the bearer token
    assert doc["paths"]["/api/cloudinary/webhook"]["post"]["security"] == []
