"""The OpenAPI document describes the host platform's endpoints and their credential."""

from __future__ import annotations

from scimitar.faces.admin.endpoint import PREFIX
from tests.faces.platform.helpers import Platform

OPERATOR_PATHS = {
    ("post", "/orgs"),
    ("get", "/orgs"),
    ("get", "/orgs/{slug}"),
    ("patch", "/orgs/{slug}"),
    ("delete", "/orgs/{slug}"),
    ("post", "/orgs/{slug}/api-tokens"),
    ("post", "/orgs/{slug}/setup-links"),
    ("get", "/orgs/{slug}/setup-links"),
    ("delete", "/orgs/{slug}/setup-links/{link_id}"),
}
ORG_PATHS = {
    ("post", "/setup-links"),
    ("get", "/setup-links"),
    ("delete", "/setup-links/{link_id}"),
}


def test_document_covers_the_platform_endpoints(platform: Platform) -> None:
    """Operator endpoints are documented with the operator bearer scheme only, setup links
    with the org's credentials; operation ids are unique."""
    document = platform.site.client.get(PREFIX + "/openapi.json").json()
    paths = document["paths"]
    for method, path in OPERATOR_PATHS:
        operation = paths[path][method]
        assert operation["security"] == [{"operator": []}], path
        assert operation["tags"] == ["orgs"]
        assert "operator token" in operation["responses"]["403"]["description"]
    for method, path in ORG_PATHS:
        assert "security" not in paths[path][method], path
    assert document["components"]["securitySchemes"]["operator"]["scheme"] == "bearer"
    ids = [op["operationId"] for item in paths.values() for op in item.values()]
    assert len(ids) == len(set(ids))
    created = document["components"]["schemas"]["SetupLinkCreated"]
    assert created["required"] == ["id", "url", "expires_at"]
    assert paths["/orgs"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TenantCreate"
    }
