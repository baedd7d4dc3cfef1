"""The schemas, declared once: every characteristic a client reads in /Schemas comes from
the same declaration that filters, PATCH and projection obey (RFC 7643 §7)."""

from __future__ import annotations

from typing import Any

from scimitar.protocol.schema import (
    ENTERPRISE_USER,
    GROUP,
    SCHEMAS,
    SCIMITAR_USER,
    USER,
    AttrType,
    Mutability,
    Returned,
    Uniqueness,
)


def _walk(attributes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for attribute in attributes:
        found.append(attribute)
        found.extend(_walk(attribute.get("subAttributes", [])))
    return found


def test_user_name_is_unique_and_case_insensitive() -> None:
    """userName: required, server-unique, caseExact false (RFC 7643 §4.1.1)."""
    user_name = USER.schema.attribute("username")
    assert user_name is not None
    assert user_name.required and not user_name.case_exact
    assert user_name.uniqueness is Uniqueness.SERVER


def test_lookups_are_case_insensitive() -> None:
    """Attribute and sub-attribute names match case-insensitively (RFC 7643 §2.1)."""
    name = USER.schema.attribute("NAME")
    assert name is not None and name.type is AttrType.COMPLEX
    assert name.sub("FAMILYNAME") is name.sub("familyName") is not None
    assert USER.schema_for(ENTERPRISE_USER.upper()) is not None
    assert USER.schema_for("urn:nothing") is None


def test_password_is_write_only_and_never_returned() -> None:
    """password: writeOnly, returned never (RFC 7643 §4.1.1)."""
    password = USER.schema.attribute("password")
    assert password is not None
    assert password.mutability is Mutability.WRITE_ONLY
    assert password.returned is Returned.NEVER


def test_group_members_are_a_multi_valued_complex_attribute() -> None:
    """members: multi-valued, complex, with value/$ref/display (RFC 7643 §4.2)."""
    members = GROUP.schema.attribute("members")
    assert members is not None and members.multi_valued
    assert {s.name for s in members.sub_attributes} >= {"value", "$ref", "display"}


def test_the_org_role_extension_names_its_values() -> None:
    """orgRole carries its canonical values (Owner, Admin, Member)."""
    [schema] = [s for s in USER.extensions if s.id == SCIMITAR_USER]
    org_role = schema.attribute("orgRole")
    assert org_role is not None
    assert set(org_role.canonical_values) == {"Owner", "Admin", "Member"}


def test_every_rendered_attribute_has_the_required_characteristics() -> None:
    """Each attribute in /Schemas says name, type, multiValued, required, mutability and
    returned, with values RFC 7643 §7 allows; sub-attributes too."""
    types = {t.value for t in AttrType}
    for schema in SCHEMAS:
        rendered = schema.to_scim("https://scim.example.com/scim")
        assert rendered["id"] == schema.id
        for attribute in _walk(rendered["attributes"]):
            assert attribute["type"] in types, attribute["name"]
            assert isinstance(attribute["multiValued"], bool)
            assert isinstance(attribute["required"], bool)
            assert attribute["mutability"] in {m.value for m in Mutability}
            assert attribute["returned"] in {r.value for r in Returned}
            if attribute["type"] == "complex":
                assert attribute.get("subAttributes"), attribute["name"]
