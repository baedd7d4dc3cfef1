"""attributes / excludedAttributes (RFC 7644 §3.4.2.5), driven by `returned`."""

from __future__ import annotations

from typing import Any

from scimitar.protocol.projection import Projection
from scimitar.protocol.schema import (
    ENTERPRISE_USER,
    GROUP,
    RESOURCE_TYPES,
    USER,
    Attribute,
    Returned,
)

RESOURCE: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER],
    "id": "u1",
    "userName": "a@example.com",
    "name": {"givenName": "A", "familyName": "B"},
    "emails": [{"value": "a@example.com", "type": "work"}],
    ENTERPRISE_USER: {"department": "Eng", "costCenter": "42"},
    "meta": {"resourceType": "User", "version": 'W/"1"'},
}


def test_no_parameters_is_identity() -> None:
    """Without parameters the resource is returned as rendered."""
    assert Projection.parse(USER, None, None).apply(RESOURCE) == RESOURCE


def test_identity_fast_path_is_sound() -> None:
    """The fast path relies on no attribute being `returned: request` in any schema."""

    def walk(attrs: tuple[Attribute, ...]) -> list[Attribute]:
        return [a for attr in attrs for a in (attr, *walk(attr.sub_attributes))]

    for resource_type in RESOURCE_TYPES:
        for schema in resource_type.schemas:
            assert not [a.name for a in walk(schema.attributes) if a.returned is Returned.REQUEST]


def test_attributes_keep_id_and_schemas() -> None:
    """`attributes` keeps only what is named, plus id and schemas (returned: always)."""
    result = Projection.parse(USER, "userName,name.givenName", None).apply(RESOURCE)
    assert result == {
        "schemas": RESOURCE["schemas"],
        "id": "u1",
        "userName": "a@example.com",
        "name": {"givenName": "A"},
    }


def test_attribute_names_are_case_insensitive_and_urn_qualified() -> None:
    """Names match in any case; URN-qualified names reach extension attributes."""
    result = Projection.parse(USER, f"USERNAME,{ENTERPRISE_USER}:department", None).apply(RESOURCE)
    assert (
        result[ENTERPRISE_USER] == {"department": "Eng"} and result["userName"] == "a@example.com"
    )
    whole = Projection.parse(USER, ENTERPRISE_USER, None).apply(RESOURCE)
    assert whole[ENTERPRISE_USER] == RESOURCE[ENTERPRISE_USER] and "userName" not in whole


def test_excluded_attributes() -> None:
    """`excludedAttributes` drops attributes and sub-attributes but never id."""
    result = Projection.parse(USER, None, "emails,name.familyName,id,meta").apply(RESOURCE)
    assert "emails" not in result and "meta" not in result
    assert result["name"] == {"givenName": "A"} and result["id"] == "u1"


def test_wants_answers_before_loading() -> None:
    """`wants` says whether an expensive attribute is needed at all."""
    assert not Projection.parse(GROUP, None, "members").wants("members")
    assert Projection.parse(GROUP, None, None).wants("members")
    assert not Projection.parse(GROUP, "displayName", None).wants("members")
    assert Projection.parse(GROUP, "members.value", None).wants("members")


def test_unknown_names_are_ignored() -> None:
    """Unknown names select nothing and break nothing."""
    assert Projection.parse(USER, "nosuch", None).apply(RESOURCE) == {
        "schemas": RESOURCE["schemas"],
        "id": "u1",
    }
