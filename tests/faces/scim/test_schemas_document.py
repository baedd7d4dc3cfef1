"""`/Schemas` carries, on every attribute and sub-attribute, every characteristic RFC 7643
§7 lists: strict clients (Microsoft's SCIM validator) read `caseExact` and `uniqueness` on
complex attributes such as `User.name` too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.faces.scim.harness import Scim

#: RFC 7643 §7: the characteristics of every attribute definition.
EVERY_ATTRIBUTE = {
    "name": str,
    "type": str,
    "multiValued": bool,
    "description": str,
    "required": bool,
    "canonicalValues": list,
    "caseExact": bool,
    "mutability": str,
    "returned": str,
    "uniqueness": str,
}
TYPES = {"string", "boolean", "decimal", "integer", "dateTime", "reference", "binary", "complex"}
MUTABILITY = {"readOnly", "readWrite", "immutable", "writeOnly"}
RETURNED = {"always", "never", "default", "request"}
UNIQUENESS = {"none", "server", "global"}


def _walk(attributes: list[dict[str, Any]], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for attribute in attributes:
        here = f"{path}.{attribute.get('name')}"
        yield here, attribute
        yield from _walk(attribute.get("subAttributes", []), here)


def test_every_attribute_carries_every_characteristic(scim: Scim) -> None:
    """Walk the whole /Schemas document: each attribute and sub-attribute has every RFC 7643
    §7 characteristic with a valid value; complex ones list sub-attributes, references
    their reference types."""
    answer = scim.client.get("/scim/Schemas", headers=scim.auth)
    assert answer.status_code == 200
    problems = []
    walked = 0
    for schema in answer.json()["Resources"]:
        for path, attribute in _walk(schema["attributes"], schema["id"]):
            walked += 1
            for name, kind in EVERY_ATTRIBUTE.items():
                if not isinstance(attribute.get(name), kind):
                    problems.append(f"{path}: {name} missing or not {kind.__name__}")
            if attribute.get("type") not in TYPES:
                problems.append(f"{path}: type")
            if attribute.get("mutability") not in MUTABILITY:
                problems.append(f"{path}: mutability")
            if attribute.get("returned") not in RETURNED:
                problems.append(f"{path}: returned")
            if attribute.get("uniqueness") not in UNIQUENESS:
                problems.append(f"{path}: uniqueness")
            if attribute.get("type") == "complex" and not attribute.get("subAttributes"):
                problems.append(f"{path}: complex without subAttributes")
            if attribute.get("type") == "reference" and not attribute.get("referenceTypes"):
                problems.append(f"{path}: reference without referenceTypes")
    assert problems == []
    assert walked > 50


def test_user_name_complex_attribute_has_case_exact_and_uniqueness(scim: Scim) -> None:
    """`User.name` (complex) states caseExact false and uniqueness none (RFC 7643 §7)."""
    user = scim.client.get(
        "/scim/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", headers=scim.auth
    ).json()
    [name] = [a for a in user["attributes"] if a["name"] == "name"]
    assert name["caseExact"] is False and name["uniqueness"] == "none"
