"""Client bodies → documents (RFC 7643 §2-§4, RFC 7644 §3.3 and §3.5.1).

A *document* is a resource's stored attributes in SCIM JSON form: canonical attribute names,
core attributes at the top level, extension attributes under the extension's canonical URN.
It never holds `id`, `meta`, `schemas`, `password`, a User's `groups` nor a Group's `members`,
and an absent attribute is an absent key (never null, "", [] or {}).

Leniencies, each seen from a real client:
- attribute names in any case (`Emails`, `"Primary"`: Microsoft's reference tests);
- unknown schema URNs in `schemas` (Entra's ADSCIM Group URN, its malformed enterprise URN);
- booleans as the strings "True"/"False" (Entra default mode, Entra's validator);
- null or "" for "no value" (Entra's `"title": null`, Microsoft's null-update test);
- a manager as an object, a bare id or a one-element array (Entra and its validator).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeAlias

from scimitar.protocol.errors import InvalidSyntax, InvalidValue
from scimitar.protocol.filter import coerce_boolean, parse_datetime
from scimitar.protocol.schema import (
    GROUP_SCHEMA,
    ORG_ROLES,
    SCIMITAR_USER_SCHEMA,
    Attribute,
    AttrType,
    Mutability,
    ResourceType,
    Schema,
    common_attribute,
)

MAX_STRING_LENGTH = 2048
MAX_VALUES = 100

_Lookup: TypeAlias = Callable[[str], Attribute | None]

__all__ = [
    "MAX_STRING_LENGTH",
    "MAX_VALUES",
    "MEMBERS",
    "check_schemas",
    "is_empty",
    "is_value_object",
    "member_values",
    "normalize",
    "normalize_single",
    "normalize_value",
    "sub_values",
]


def _declared(schema: Schema, name: str) -> Attribute:
    attribute = schema.attribute(name)
    assert attribute is not None, f"{schema.name} declares no {name!r}"
    return attribute


#: A Group's members are stored as rows by the caller, never in the document.
MEMBERS = _declared(GROUP_SCHEMA, "members")
# RFC 7643 canonicalValues are advisory; orgRole's are the product's roles, so they are enforced.
_ORG_ROLE = _declared(SCIMITAR_USER_SCHEMA, "orgRole")


def normalize(resource_type: ResourceType, payload: Any) -> dict[str, Any]:
    """The document for a POST or PUT body (RFC 7644 §3.3, §3.5.1).

    Unknown attributes are ignored; readOnly ones (`id`, `meta`, `groups`) are ignored as
    RFC 7643 §2.2 asks; `password` is accepted and discarded; a Group's `members` are left to
    `member_values`. An unknown extension URN is an error, since the client clearly meant it.
    """
    if not isinstance(payload, dict):
        raise InvalidSyntax("The request body must be a JSON object")
    core: dict[str, Any] = {}
    extensions: dict[str, Any] = {}
    for key, value in payload.items():
        lowered = key.lower()
        if lowered == "schemas":
            check_schemas(value, resource_type.schema.id)
        elif lowered.startswith("urn:"):
            extension = resource_type.extension(key)
            if extension is None:
                raise InvalidSyntax(f"Unknown schema extension {key!r} for a {resource_type.name}")
            if extension.id in extensions:
                raise InvalidSyntax(f"Schema extension {extension.id!r} appears more than once")
            extensions[extension.id] = _extension_document(extension, value)
        else:
            core[key] = value
    document = _present(_fields(core, lambda name: _core_attribute(resource_type, name), ""))
    document.update(_present(extensions))
    _check_required(resource_type, document)
    return document


def check_schemas(value: Any, urn: str) -> None:
    """`schemas` must list `urn`; other URNs are tolerated (RFC 7643 §3, Entra's extras)."""
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidSyntax("'schemas' must be a list of schema URNs")
    if urn.lower() not in (item.lower() for item in value):
        raise InvalidSyntax(f"'schemas' must contain {urn!r}")


def _check_required(resource_type: ResourceType, document: dict[str, Any]) -> None:
    """Every required attribute is present (RFC 7643 §2.2); an absent extension has none."""
    for schema in resource_type.schemas:
        core = schema is resource_type.schema
        if not core and schema.id not in document:
            continue
        container = document if core else document[schema.id]
        for attribute in schema.attributes:
            if attribute.required and attribute.name not in container:
                raise InvalidValue(f"Attribute {attribute.name!r} is required")


def member_values(members: Any) -> list[str]:
    """The member ids of a Group `members` value, in order, without repeats.

    Each member is an object with a non-empty string `value`; its other keys (`display`,
    `$ref` — Entra sends `"$ref": null` —, `type`, Microsoft's `displayName`) are ignored.
    A single object is read as a one-element list (RFC 7643 §2.4 leniency).
    """
    if members is None:
        return []
    items = members if isinstance(members, list) else [members]
    ids: list[str] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidValue(
                f"members[{index}] must be an object with a 'value', not {_json_type(item)}"
            )
        value = next((v for k, v in item.items() if k.lower() == "value"), None)
        if not isinstance(value, str) or not value:
            raise InvalidValue(f"members[{index}] must have a non-empty string 'value'")
        if len(value) > MAX_STRING_LENGTH:
            raise InvalidValue(f"members[{index}].value is longer than {MAX_STRING_LENGTH}")
        ids.append(value)
    return list(dict.fromkeys(ids))


def _is_stored(attribute: Attribute) -> bool:
    """Whether values of `attribute` belong in a document.

    readOnly values are computed by the server, writeOnly ones (`password`) are discarded
    because Scimitar never authenticates users by password, and members are stored as rows.
    """
    return attribute.mutability in (Mutability.READ_WRITE, Mutability.IMMUTABLE) and (
        attribute is not MEMBERS
    )


def is_value_object(attribute: Attribute) -> bool:
    """A single-valued complex attribute that is one reference, such as `manager`.

    It is meaningless without its `value`, and is replaced as a whole (a kept `$ref` would
    point at the previous value).
    """
    return (
        attribute.type is AttrType.COMPLEX
        and not attribute.multi_valued
        and attribute.sub("value") is not None
    )


def is_empty(value: Any) -> bool:
    """null, "", [] and {} all mean "no value" (Entra, Microsoft's null-update test)."""
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0)


def normalize_value(attribute: Attribute, value: Any, *, label: str) -> Any:
    """`value` checked and canonicalised for `attribute`; None when it means "absent".

    `label` names the attribute in error details (`emails`, `name.givenName`).
    """
    if is_empty(value):
        return None
    if not attribute.multi_valued:
        return normalize_single(attribute, value, label=label)
    items = value if isinstance(value, list) else [value]
    if len(items) > MAX_VALUES:
        raise InvalidValue(f"Attribute {label!r} has more than {MAX_VALUES} values")
    result = [normalize_single(attribute, item, label=label) for item in items]
    present = [item for item in result if item is not None]
    _check_primary(attribute, present, label=label)
    return present or None


def normalize_single(attribute: Attribute, value: Any, *, label: str) -> Any:
    """One value of `attribute` (for a multi-valued one: one element); None when absent."""
    if is_empty(value):
        return None
    if attribute.type is AttrType.COMPLEX:
        return _complex(attribute, value, label)
    return _scalar(attribute, value, label)


def sub_values(attribute: Attribute, value: Any, *, label: str) -> dict[str, Any]:
    """The stored sub-attributes in complex `value`, by canonical name, None meaning absent.

    Unknown, readOnly and writeOnly sub-attributes are dropped, as for top-level ones.
    """
    if not isinstance(value, dict):
        raise InvalidValue(f"Attribute {label!r} must be an object, not {_json_type(value)}")
    return _fields(value, attribute.sub, f"{label}.")


def _check_primary(attribute: Attribute, values: list[Any], *, label: str) -> None:
    """At most one value is primary (RFC 7643 §2.4)."""
    if attribute.sub("primary") is None:
        return
    primaries = sum(1 for item in values if isinstance(item, dict) and item.get("primary") is True)
    if primaries > 1:
        raise InvalidValue(f"Attribute {label!r} has more than one primary value")


def _core_attribute(resource_type: ResourceType, name: str) -> Attribute | None:
    return resource_type.schema.attribute(name) or common_attribute(name)


def _extension_document(extension: Schema, value: Any) -> dict[str, Any] | None:
    if is_empty(value):
        return None
    if not isinstance(value, dict):
        raise InvalidValue(f"Extension {extension.id!r} must be an object")
    return _present(_fields(value, extension.attribute, "")) or None


def _fields(obj: dict[str, Any], lookup: _Lookup, prefix: str) -> dict[str, Any]:
    """Known stored attributes of `obj` by canonical name, normalised; None for absent."""
    fields: dict[str, Any] = {}
    for key, value in obj.items():
        attribute = lookup(key)
        if attribute is None or not _is_stored(attribute):
            continue
        if attribute.name in fields:
            raise InvalidSyntax(f"Attribute {prefix}{attribute.name!s} appears more than once")
        label = f"{prefix}{attribute.name}"
        fields[attribute.name] = normalize_value(attribute, value, label=label)
    return fields


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _complex(attribute: Attribute, value: Any, label: str) -> dict[str, Any] | None:
    if is_value_object(attribute):
        value = _as_value_object(value, label)
        if is_empty(value):
            return None
    fields = _present(sub_values(attribute, value, label=label))
    if is_value_object(attribute) and "value" not in fields:
        return None
    return fields or None


def _as_value_object(value: Any, label: str) -> Any:
    """Entra sends a manager as `{"value": id}`, as a bare id, or as `[{"value": id}]`."""
    if isinstance(value, list):
        if len(value) > 1:
            raise InvalidValue(f"Attribute {label!r} takes a single value")
        value = value[0]
    if isinstance(value, str):
        return {"value": value}
    return value


def _scalar(attribute: Attribute, value: Any, label: str) -> Any:
    kind = attribute.type
    if kind is AttrType.BOOLEAN:
        boolean = coerce_boolean(value)
        if boolean is None:
            raise InvalidValue(f"Attribute {label!r} must be a boolean")
        return boolean
    if kind in (AttrType.INTEGER, AttrType.DECIMAL):
        return _number(kind, value, label)
    if not isinstance(value, str):
        raise InvalidValue(f"Attribute {label!r} must be a string")
    if len(value) > MAX_STRING_LENGTH:
        raise InvalidValue(f"Attribute {label!r} is longer than {MAX_STRING_LENGTH} characters")
    if kind is AttrType.DATETIME and parse_datetime(value) is None:
        raise InvalidValue(f"Attribute {label!r} must be an ISO 8601 date and time")
    if attribute is _ORG_ROLE:
        return _org_role(value, label)
    return value


def _number(kind: AttrType, value: Any, label: str) -> int | float:
    if kind is AttrType.INTEGER and isinstance(value, int) and not isinstance(value, bool):
        return value
    if (
        kind is AttrType.DECIMAL
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    ):
        return value
    expected = "an integer" if kind is AttrType.INTEGER else "a number"
    raise InvalidValue(f"Attribute {label!r} must be {expected}")


def _org_role(value: str, label: str) -> str:
    role = next((role for role in ORG_ROLES if role.lower() == value.lower()), None)
    if role is None:
        raise InvalidValue(f"Attribute {label!r} must be one of {', '.join(ORG_ROLES)}")
    return role


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
