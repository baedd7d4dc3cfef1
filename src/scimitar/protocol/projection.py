"""`attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9), driven by `returned`.

A projection is computed once per request from the query parameters, then applied to each
rendered resource. It also answers whether an expensive attribute (a group's `members`, a
user's `groups`) is wanted at all, so that it is never loaded only to be dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scimitar.protocol.filter import parse_attr_path
from scimitar.protocol.schema import (
    Attribute,
    ResourceType,
    Returned,
    common_attribute,
)

#: A resolved name: (schema URN or None for core/common, attribute name, sub-attribute name).
_Name = tuple[str | None, str, str | None]


def _split_names(raw: str | None) -> list[str]:
    if not raw:
        return []
    return [part.strip() for part in raw.split(",") if part.strip()]


def _resolve(resource_type: ResourceType, text: str) -> _Name | None:
    """Canonical (extension URN, attribute, sub) for a name; None when unknown (ignored)."""
    whole = resource_type.extension(text)
    if whole is not None:
        return (whole.id, "", None)
    path = parse_attr_path(text)
    if path is None:
        return None
    schema = resource_type.schema
    extension: str | None = None
    if path.uri is not None:
        found = resource_type.schema_for(path.uri)
        if found is None:
            return None
        schema = found
        extension = None if found is resource_type.schema else found.id
    attribute = schema.attribute(path.attr) or (
        common_attribute(path.attr) if extension is None else None
    )
    if attribute is None:
        return None
    sub: str | None = None
    if path.sub is not None:
        sub_attribute = attribute.sub(path.sub)
        if sub_attribute is None:
            return None
        sub = sub_attribute.name
    return (extension, attribute.name, sub)


@dataclass(frozen=True)
class Projection:
    resource_type: ResourceType
    included: tuple[_Name, ...] | None = None
    excluded: tuple[_Name, ...] = ()

    @classmethod
    def parse(
        cls, resource_type: ResourceType, attributes: str | None, excluded: str | None
    ) -> Projection:
        include = [_resolve(resource_type, n) for n in _split_names(attributes)]
        exclude = [_resolve(resource_type, n) for n in _split_names(excluded)]
        return cls(
            resource_type,
            tuple(n for n in include if n is not None) if attributes else None,
            tuple(n for n in exclude if n is not None),
        )

    def wants(self, name: str, extension: str | None = None) -> bool:
        """Whether the top-level attribute `name` appears in the output at all."""
        if any(e == (extension, name, None) for e in self.excluded):
            return False
        if self.included is None:
            return True
        return any(
            (ext == extension and attr == name) or (ext == extension and attr == "" and extension)
            for ext, attr, _ in self.included
        )

    def apply(self, resource: dict[str, Any]) -> dict[str, Any]:
        """The resource as the client asked for it; `id` and `schemas` always stay.

        Without parameters the rendered resource is already right: resources never hold
        `returned: never` attributes (passwords are not stored) and the schemas have no
        `returned: request` ones, so there is nothing to walk.
        """
        if self.included is None and not self.excluded:
            return resource
        result: dict[str, Any] = {}
        for key, value in resource.items():
            extension = self.resource_type.extension(key)
            if extension is not None:
                projected = self._extension(extension.id, extension.attributes, value)
                if projected:
                    result[key] = projected
                continue
            attribute = self.resource_type.schema.attribute(key) or common_attribute(key)
            if key == "schemas" or attribute is None:
                result[key] = value
                continue
            kept = self._attribute(None, attribute, value)
            if kept is not None:
                result[key] = kept
        return result

    def _extension(
        self, urn: str, attributes: tuple[Attribute, ...], value: dict[str, Any]
    ) -> dict[str, Any]:
        by_name = {a.name: a for a in attributes}
        out: dict[str, Any] = {}
        for key, item in value.items():
            attribute = by_name.get(key)
            if attribute is None:
                continue
            kept = self._attribute(urn, attribute, item)
            if kept is not None:
                out[key] = kept
        return out

    def _attribute(self, extension: str | None, attribute: Attribute, value: Any) -> Any:
        if attribute.returned is Returned.NEVER:
            return None
        if attribute.returned is Returned.ALWAYS:
            return value
        name = attribute.name
        if (extension, name, None) in self.excluded or (
            extension is not None and (extension, "", None) in self.excluded
        ):
            return None
        excluded_subs = {s for e, a, s in self.excluded if e == extension and a == name and s}
        if self.included is None:
            if attribute.returned is Returned.REQUEST:
                return None
            return _drop_subs(value, excluded_subs) if excluded_subs else value
        selected = [
            s
            for e, a, s in self.included
            if (e == extension and a == name)
            or (extension is not None and e == extension and a == "")
        ]
        if not selected:
            return None
        if any(s is None for s in selected):
            return _drop_subs(value, excluded_subs) if excluded_subs else value
        keep = {s for s in selected if s is not None} - excluded_subs
        keep |= {sub.name for sub in attribute.sub_attributes if sub.returned is Returned.ALWAYS}
        return _keep_subs(value, keep)


def _keep_subs(value: Any, keep: set[str]) -> Any:
    if isinstance(value, list):
        kept = [_keep_subs(item, keep) for item in value]
        return [item for item in kept if item] or None
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k in keep} or None
    return value


def _drop_subs(value: Any, drop: set[str]) -> Any:
    if isinstance(value, list):
        return [_drop_subs(item, drop) for item in value]
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in drop}
    return value
