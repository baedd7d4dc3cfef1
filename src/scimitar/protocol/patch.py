"""The PATCH engine (RFC 7644 §3.5.2): a PatchOp message → a new document.

Pure and atomic: `apply_patch` works on a copy and returns a new document plus the Group
membership changes for the caller to apply in SQL, or raises and changes nothing.

Leniencies, each seen from a real client:
- `op` in any case (`"Replace"`, `"Add"`, `"Remove"`: Entra default mode);
- pathless values with dotted and URN-qualified keys (Entra with `aadOptscim062020`);
- the read-only `id` in a pathless value when it is the resource's own (Okta group push);
- `remove` with a `value` array on `members` (Entra default mode, authentik);
- `attr[filter].sub` that matches nothing creates the value (Entra's `emails[type eq "work"]`);
- an unqualified extension attribute name as a path (`manager`, Entra's documented example).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from scimitar.protocol.errors import (
    InvalidFilter,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    MutabilityViolation,
    NoTarget,
)
from scimitar.protocol.filter import (
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    PatchPath,
    Present,
    ValuePath,
    matches,
    parse_attr_path,
    parse_patch_path,
)
from scimitar.protocol.resource import (
    MEMBERS,
    check_schemas,
    is_empty,
    is_value_object,
    member_values,
    normalize,
    normalize_single,
    normalize_value,
    sub_values,
)
from scimitar.protocol.schema import (
    PATCH_OP,
    Attribute,
    AttrType,
    Mutability,
    ResourceType,
    Schema,
    common_attribute,
)

__all__ = [
    "MAX_OPERATIONS",
    "MemberChange",
    "Operation",
    "PatchResult",
    "apply_patch",
    "parse_patch",
]

MAX_OPERATIONS = 1000

OpName = Literal["add", "remove", "replace"]
_OPS: dict[str, OpName] = {"add": "add", "remove": "remove", "replace": "replace"}


@dataclass(frozen=True)
class Operation:
    """One PATCH operation; `path_text` is the path as sent, for error details."""

    op: OpName
    path: PatchPath | None = None
    value: Any = None
    path_text: str | None = None


@dataclass(frozen=True)
class MemberChange:
    """A Group membership delta, applied by the caller in SQL.

    `clear` removes every member; `replace` sets the members to exactly `ids`.
    """

    kind: Literal["add", "remove", "replace", "clear"]
    ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class PatchResult:
    document: dict[str, Any]
    member_changes: tuple[MemberChange, ...]
    changed: bool  # whether `document` differs from the input document


def parse_patch(body: Any) -> list[Operation]:
    """The operations of a PatchOp message (RFC 7644 §3.5.2); keys in any case.

    More than MAX_OPERATIONS operations is `InvalidValue`: RFC 7644 names no error for it, and
    `tooMany` is defined for filter results.
    """
    if not isinstance(body, dict):
        raise InvalidSyntax("A PATCH body must be a JSON object")
    fields = _folded(body)
    if "schemas" in fields:
        check_schemas(fields["schemas"], PATCH_OP)
    operations = fields.get("operations")
    if not isinstance(operations, list) or not operations:
        raise InvalidSyntax("'Operations' must be a non-empty list of operations")
    if len(operations) > MAX_OPERATIONS:
        raise InvalidValue(
            f"A PATCH request may hold at most {MAX_OPERATIONS} operations, "
            f"this one holds {len(operations)}"
        )
    return [_parse_operation(index, raw) for index, raw in enumerate(operations, 1)]


def apply_patch(
    resource_type: ResourceType,
    document: dict[str, Any],
    operations: list[Operation],
    *,
    resource_id: str,
) -> PatchResult:
    """Apply `operations` in order, all or nothing; `document` is never mutated.

    The result is normalised like a PUT body, so it holds the same invariants (required
    attributes present, one primary value, limits) whatever the operations did.
    """
    state = _State(resource_type, copy.deepcopy(document), resource_id)
    for operation in operations:
        _apply(state, operation)
    result = normalize(resource_type, state.document)
    return PatchResult(result, tuple(state.member_changes), result != document)


@dataclass
class _State:
    resource_type: ResourceType
    document: dict[str, Any]
    resource_id: str
    member_changes: list[MemberChange] = field(default_factory=list)


@dataclass(frozen=True)
class _Target:
    """An attribute addressed by a path: where it lives, and which part of it."""

    attribute: Attribute
    extension: str | None  # canonical URN of the extension holding it; None: top level
    filter: Filter | None
    sub: Attribute | None
    text: str  # the path as sent

    @property
    def label(self) -> str:
        return f"{self.attribute.name}.{self.sub.name}" if self.sub else self.attribute.name


def _folded(obj: dict[str, Any]) -> dict[str, Any]:
    return {key.lower(): value for key, value in obj.items()}


def _parse_operation(index: int, raw: Any) -> Operation:
    if not isinstance(raw, dict):
        raise InvalidSyntax(f"Operation {index} must be an object")
    fields = _folded(raw)
    name = fields.get("op")
    op = _OPS.get(name.lower()) if isinstance(name, str) else None
    if op is None:
        raise InvalidSyntax(
            f"Operation {index} has op {name!r}; expected 'add', 'remove' or 'replace'"
        )
    path_text = fields.get("path")
    if path_text is not None and not isinstance(path_text, str):
        raise InvalidPath(f"Operation {index} has a path that is not a string")
    if op != "remove" and "value" not in fields:
        raise InvalidSyntax(f"Operation {index} ({op}) has no 'value' (RFC 7644 §3.5.2)")
    path = parse_patch_path(path_text) if path_text is not None else None
    return Operation(op, path, fields.get("value"), path_text)


def _apply(state: _State, operation: Operation) -> None:
    if operation.path is None:
        _apply_pathless(state, operation)
        return
    text = operation.path_text or str(operation.path.attr)
    target = _resolve(state.resource_type, operation.path, text)
    if isinstance(target, Schema):
        _apply_extension(state, operation.op, target, operation.value)
    else:
        _apply_target(state, operation.op, target, operation.value)


def _apply_pathless(state: _State, operation: Operation) -> None:
    """Without a path, the value is a set of attributes of the resource (RFC 7644 §3.5.2.1,
    §3.5.2.3); its keys are read like paths, so an unknown one is `invalidPath`."""
    if operation.op == "remove":
        raise NoTarget("A remove operation needs a path (RFC 7644 §3.5.2.2)")
    value = operation.value
    if not isinstance(value, dict):
        raise InvalidValue(
            f"A {operation.op} operation without a path needs an object of attributes as its "
            "value (a JSON-encoded string is not one)"
        )
    for key, item in value.items():
        lowered = key.lower()
        if lowered in ("schemas", "meta"):
            continue
        if lowered == "id":
            _check_own_id(item, state.resource_id)
            continue
        attr_path = parse_attr_path(key)
        if attr_path is None:
            raise InvalidPath(f"{key!r} is not an attribute name")
        target = _resolve(state.resource_type, PatchPath(attr_path), key)
        if isinstance(target, Schema):
            _apply_extension(state, operation.op, target, item)
        else:
            _apply_target(state, operation.op, target, item)


def _check_own_id(value: Any, resource_id: str) -> None:
    """Okta's group push repeats the group's own `id` in every rename; any other is an error."""
    if not is_empty(value) and value != resource_id:
        raise MutabilityViolation("Attribute 'id' is read-only and cannot be changed")


def _resolve(resource_type: ResourceType, path: PatchPath, text: str) -> _Target | Schema:
    """The attribute (or whole extension) a path names; unknown names are `invalidPath`."""
    attr_path = path.attr
    schema = resource_type.schema
    if attr_path.uri is not None:
        whole = resource_type.extension(f"{attr_path.uri}:{attr_path.attr}")
        if whole is not None and attr_path.sub is None and path.filter is None and not path.sub:
            return whole
        found = resource_type.schema_for(attr_path.uri)
        if found is None:
            raise InvalidPath(f"Unknown schema {attr_path.uri!r} in path {text!r}")
        schema = found
    attribute, owner = _find_attribute(resource_type, schema, attr_path)
    if attribute is None:
        raise InvalidPath(f"Unknown attribute {attr_path.attr!r} in path {text!r}")
    sub_name = attr_path.sub or path.sub
    sub = attribute.sub(sub_name) if sub_name else None
    if sub_name and sub is None:
        raise InvalidPath(f"{attribute.name!r} has no sub-attribute {sub_name!r} (path {text!r})")
    extension = None if owner is resource_type.schema else owner.id
    return _Target(attribute, extension, path.filter, sub, text)


def _find_attribute(
    resource_type: ResourceType, schema: Schema, attr_path: AttrPath
) -> tuple[Attribute | None, Schema]:
    name = attr_path.attr
    if schema is not resource_type.schema:
        return schema.attribute(name), schema
    found = schema.attribute(name) or common_attribute(name)
    if found is not None or attr_path.uri is not None:
        return found, schema
    # Entra documents `"path": "manager"`: fall back to an extension when only one has it.
    candidates = [(ext.attribute(name), ext) for ext in resource_type.extensions]
    hits = [(attr, ext) for attr, ext in candidates if attr is not None]
    return hits[0] if len(hits) == 1 else (None, schema)


def _container(state: _State, extension: str | None) -> dict[str, Any]:
    if extension is None:
        return state.document
    holder = state.document.get(extension)
    if not isinstance(holder, dict):
        holder = state.document[extension] = {}
    return holder


def _apply_extension(state: _State, op: OpName, extension: Schema, value: Any) -> None:
    """The whole extension object as a target: its attributes, each set like a path."""
    if op == "remove" or (op == "replace" and is_empty(value)):
        state.document.pop(extension.id, None)
        return
    if is_empty(value):
        return
    if not isinstance(value, dict):
        raise InvalidValue(f"Extension {extension.id!r} must be an object")
    for key, item in value.items():
        if key.lower() in ("schemas", "meta"):
            # Clients that serialise a model of the extension include these; never attributes.
            continue
        attr_path = parse_attr_path(key)
        if attr_path is None or attr_path.uri is not None:
            raise InvalidPath(f"{key!r} is not an attribute of {extension.id!r}")
        qualified = AttrPath(attr_path.attr, attr_path.sub, extension.id)
        target = _resolve(state.resource_type, PatchPath(qualified), str(qualified))
        assert isinstance(target, _Target)  # a qualified attribute is never a whole extension
        _apply_target(state, op, target, item)


def _apply_target(state: _State, op: OpName, target: _Target, value: Any) -> None:
    attribute = target.attribute
    if attribute is MEMBERS:
        _apply_members(state, op, target, value)
        return
    if Mutability.READ_ONLY in (attribute.mutability, target.sub and target.sub.mutability):
        raise MutabilityViolation(f"Attribute {target.label!r} is read-only")
    if attribute.mutability is Mutability.WRITE_ONLY:
        return  # `password`: accepted from identity providers and never stored
    container = _container(state, target.extension)
    if attribute.multi_valued and (target.filter is not None or target.sub is not None):
        _check_filter(target)
        _apply_elements(container, op, target, value)
    elif target.filter is not None:
        raise InvalidPath(f"Path {target.text!r} filters a single-valued attribute")
    elif target.sub is not None:
        _apply_sub(container, op, target, value)
    elif attribute.multi_valued:
        _apply_list(container, op, target, value)
    else:
        _apply_single(container, op, target, value)


def _apply_single(container: dict[str, Any], op: OpName, target: _Target, value: Any) -> None:
    """A single-valued attribute; complex ones merge sub-attributes (RFC 7644 §3.5.2.3)."""
    attribute = target.attribute
    if op == "remove" or is_empty(value):
        container.pop(attribute.name, None)
    elif attribute.type is AttrType.COMPLEX and not is_value_object(attribute):
        merged = dict(container.get(attribute.name, {}))
        _merge(merged, sub_values(attribute, value, label=target.label))
        container[attribute.name] = merged
    else:
        _set(container, attribute.name, normalize_value(attribute, value, label=target.label))


def _apply_sub(container: dict[str, Any], op: OpName, target: _Target, value: Any) -> None:
    """`name.familyName`, `manager.value`: one sub-attribute of a single complex attribute."""
    attribute, sub = target.attribute, target.sub
    assert sub is not None
    current = dict(container.get(attribute.name, {}))
    if op == "remove":
        current.pop(sub.name, None)
    elif is_value_object(attribute) and sub.name == "value":
        current = {}  # a new reference: the old `$ref` would point at the previous value
        _set(current, sub.name, normalize_value(sub, value, label=target.label))
    else:
        _set(current, sub.name, normalize_value(sub, value, label=target.label))
    container[attribute.name] = current


def _apply_list(container: dict[str, Any], op: OpName, target: _Target, value: Any) -> None:
    """A whole multi-valued attribute (RFC 7644 §3.5.2.1-§3.5.2.3)."""
    attribute = target.attribute
    items: list[dict[str, Any]] = [dict(item) for item in container.get(attribute.name, [])]
    if op == "remove" and is_empty(value):
        container.pop(attribute.name, None)
        return
    given: list[dict[str, Any]] = normalize_value(attribute, value, label=target.label) or []
    if op == "replace":
        _store(container, attribute, given, given)
    elif op == "add":
        added = [item for item in _unique(given) if item not in items]
        _store(container, attribute, items + added, added)
    else:  # Entra removes values by listing them
        kept = [item for item in items if not any(_same(item, g, attribute) for g in given)]
        _store(container, attribute, kept, [])


def _apply_elements(container: dict[str, Any], op: OpName, target: _Target, value: Any) -> None:
    """`emails[type eq "work"]`, `emails[type eq "work"].value`, `emails.display`."""
    attribute = target.attribute
    items: list[dict[str, Any]] = [dict(item) for item in container.get(attribute.name, [])]
    selected = [
        item for item in items if target.filter is None or matches(target.filter, item, attribute)
    ]
    if op == "remove":
        if target.sub is None:
            items = [item for item in items if not _among(item, selected)]
        else:
            for item in selected:
                item.pop(target.sub.name, None)
        _store(container, attribute, items, [])
        return
    for item in selected:
        _update_element(item, target, value)
    if not selected:
        created = _new_element(target, value)
        selected = [created] if created else []
        items += selected
    _store(container, attribute, items, selected)


def _update_element(item: dict[str, Any], target: _Target, value: Any) -> None:
    if target.sub is not None:
        _set(item, target.sub.name, normalize_value(target.sub, value, label=target.label))
    else:
        _merge(item, sub_values(target.attribute, _one(value), label=target.label))


def _new_element(target: _Target, value: Any) -> dict[str, Any] | None:
    """What add/replace create when the filter matches nothing.

    RFC 7644 §3.5.2.3 says `noTarget`, but Entra sets `emails[type eq "work"].value` on users
    with no work email and expects it created; that is well defined when the filter only
    states `eq` values, so those become the new element's sub-attributes.
    """
    if target.filter is None:
        raise NoTarget(f"{target.attribute.name!r} has no values to change (path {target.text!r})")
    equalities = _equalities(target.filter)
    if equalities is None:
        raise NoTarget(f"No value matches the filter in path {target.text!r}")
    seed = normalize_single(target.attribute, equalities, label=target.attribute.name) or {}
    element = dict(seed)
    _update_element(element, target, value)
    return element if element != seed else None


def _equalities(tree: Filter) -> dict[str, Any] | None:
    """`type eq "work" and primary eq true` → {"type": "work", "primary": True}; else None."""
    if isinstance(tree, And):
        left, right = _equalities(tree.left), _equalities(tree.right)
        return None if left is None or right is None else {**left, **right}
    if isinstance(tree, Compare) and tree.op == "eq" and tree.value is not None:
        return {tree.path.attr: tree.value}
    return None


def _check_filter(target: _Target) -> None:
    """Every name in a value filter is a sub-attribute of the target (RFC 7644 §3.5.2)."""
    attribute = target.attribute
    if attribute.type is not AttrType.COMPLEX:
        raise InvalidPath(f"Path {target.text!r} filters an attribute without sub-attributes")
    for node in _leaves(target.filter):
        if isinstance(node, ValuePath):
            raise InvalidPath(f"Value filters cannot be nested (path {target.text!r})")
        path = node.path
        if path.uri is not None or path.sub is not None or attribute.sub(path.attr) is None:
            raise InvalidPath(
                f"{attribute.name!r} has no sub-attribute {str(path)!r} (path {target.text!r})"
            )


def _leaves(tree: Filter | None) -> Iterator[Compare | Present | ValuePath]:
    if tree is None:
        return
    if isinstance(tree, And | Or):
        yield from _leaves(tree.left)
        yield from _leaves(tree.right)
    elif isinstance(tree, Not):
        yield from _leaves(tree.expr)
    else:
        yield tree


def _apply_members(state: _State, op: OpName, target: _Target, value: Any) -> None:
    """Group membership is delegated to the caller as `MemberChange`s (never the document)."""
    if target.sub is not None:
        raise MutabilityViolation(
            f"{target.label!r} cannot be changed; add or remove the member instead"
        )
    changes = state.member_changes
    if target.filter is not None:
        if op != "remove":
            raise InvalidPath(
                f"A value filter on members is only supported in a remove (path {target.text!r})"
            )
        changes.append(MemberChange("remove", _member_filter_ids(target.filter)))
    elif op == "remove" and value is None:
        changes.append(MemberChange("clear"))
    elif op == "replace":
        ids = tuple(member_values(value))
        changes.append(MemberChange("replace", ids) if ids else MemberChange("clear"))
    else:
        ids = tuple(member_values(value))
        if ids:
            changes.append(MemberChange(op, ids))


def _member_filter_ids(tree: Filter) -> tuple[str, ...]:
    """`value eq "a" or value eq "b"` → ("a", "b"); the only filters Okta and Entra send."""
    if isinstance(tree, Or):
        return tuple(dict.fromkeys(_member_filter_ids(tree.left) + _member_filter_ids(tree.right)))
    if (
        isinstance(tree, Compare)
        and tree.op == "eq"
        and tree.path == AttrPath(tree.path.attr)
        and tree.path.attr.lower() == "value"
        and isinstance(tree.value, str)
        and tree.value
    ):
        return (tree.value,)
    raise InvalidFilter(
        'Only filters of the form members[value eq "<id>"], optionally joined with "or", '
        "are supported on members"
    )


def _store(
    container: dict[str, Any],
    attribute: Attribute,
    items: list[dict[str, Any]],
    touched: list[dict[str, Any]],
) -> None:
    """Keep `items`; a value this operation made primary demotes the others (RFC 7644 §3.5.2)."""
    if any(item.get("primary") is True for item in touched):
        for item in items:
            if item.get("primary") is True and not _among(item, touched):
                item["primary"] = False
    container[attribute.name] = items


def _merge(target: dict[str, Any], changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        _set(target, name, value)


def _set(target: dict[str, Any], name: str, value: Any) -> None:
    if value is None:
        target.pop(name, None)
    else:
        target[name] = value


def _one(value: Any) -> Any:
    """A filtered target takes one object; a one-element array of it is read the same way."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _unique(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    unique: list[dict[str, Any]] = []
    for item in items:
        if item not in unique:
            unique.append(item)
    return unique


def _among(item: dict[str, Any], items: list[dict[str, Any]]) -> bool:
    return any(item is other for other in items)


def _same(item: dict[str, Any], probe: dict[str, Any], attribute: Attribute) -> bool:
    """Whether `item` has every sub-attribute value of `probe` (honouring caseExact)."""
    return all(
        matches(Compare(AttrPath(name), "eq", value), item, attribute)
        for name, value in probe.items()
    )
