"""The OpenAPI document: complete, valid, and true to the routes that serve requests."""

from __future__ import annotations

from jsonschema import Draft202012Validator
from starlette.routing import Route

from scimitar.faces.admin.api import AdminRoutes
from scimitar.faces.admin.endpoint import PREFIX
from tests.faces.admin.helpers import Site


def test_document_lists_every_route(site: Site) -> None:
    """Every route the app serves under /api/v1 (the feed's and the webhooks' included) is
    in the served document with the same method, and back."""
    document = site.client.get(PREFIX + "/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    routes = site.client.app.routes  # type: ignore[attr-defined]
    served = {
        (method, route.path.removeprefix(PREFIX))
        for route in routes
        if isinstance(route, Route) and route.path.startswith(PREFIX + "/")
        for method in (route.methods or set()) - {"HEAD"}
    } | {
        served
        for route in routes
        if isinstance(route, AdminRoutes)
        for served in route.served
        if served[1] != "/openapi.json"
    }
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert served == documented
    assert len(served) >= 30


def test_every_schema_is_valid_and_every_reference_resolves(site: Site) -> None:
    """Component schemas are valid JSON Schema 2020-12 and every $ref names a component."""
    document = site.client.get(PREFIX + "/openapi.json").json()
    components = document["components"]["schemas"]
    for schema in components.values():
        Draft202012Validator.check_schema(schema)
    text = str(document)
    for ref in {part.split("'")[0] for part in text.split("#/components/schemas/")[1:]}:
        assert ref in components, ref
    for item in document["paths"].values():
        for operation in item.values():
            assert operation["responses"], operation["operationId"]
            assert "401" in operation["responses"]
