"""`/Groups`: membership as deltas; `members` is only read when the client wants it."""

from __future__ import annotations

from typing import Any

from scimitar.domain.context import Tx
from scimitar.domain.directory import group_kinds, group_store, search
from scimitar.domain.models import Group, Org
from scimitar.faces.scim import render
from scimitar.faces.scim.call import Call, Outcome, check_if_match, not_modified
from scimitar.faces.scim.resources import Resources
from scimitar.protocol.listing import search_params
from scimitar.protocol.patch import apply_patch, parse_patch
from scimitar.protocol.projection import Projection
from scimitar.protocol.resource import member_values, normalize
from scimitar.protocol.schema import GROUP


def _document(group: Group) -> dict[str, Any]:
    doc: dict[str, Any] = {"displayName": group.display_name}
    if group.external_id is not None:
        doc["externalId"] = group.external_id
    return doc


def render_groups(
    tx: Tx, call: Call, projection: Projection, found: list[Group]
) -> list[dict[str, Any]]:
    refs = group_store.member_refs(tx, [g.id for g in found]) if projection.wants("members") else {}
    return [projection.apply(render.group(g, call.base, refs.get(g.id))) for g in found]


GROUPS: Resources[Group] = Resources(GROUP, search.search_groups, render_groups, "members")


def list_groups(call: Call, tx: Tx, org: Org) -> Outcome:
    return GROUPS.list(tx, call, org, call.query)


def search_groups(call: Call, tx: Tx, org: Org) -> Outcome:
    return GROUPS.list(tx, call, org, search_params(call.body))


def get_group(call: Call, tx: Tx, org: Org) -> Outcome:
    group = group_store.get_group(tx, org, call.params["id"])
    if not_modified(call, group.version):
        return Outcome(304, None, {"ETag": render.etag(group.version)})
    return GROUPS.one(tx, call, group)


def create_group(call: Call, tx: Tx, org: Org) -> Outcome:
    doc = normalize(GROUP, call.body)
    ids = member_values(call.body.get("members")) if isinstance(call.body, dict) else []
    group = group_kinds.create_group(tx, org, doc["displayName"], doc.get("externalId"), ids)
    return GROUPS.one(tx, call, group, 201)


def _members_key(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    return next((k for k in body if k.lower() == "members"), None)


def replace_group(call: Call, tx: Tx, org: Org) -> Outcome:
    """PUT: name and externalId replaced; `members` replaced when present (a PUT without
    `members` leaves the membership alone rather than silently emptying a large group)."""
    group = group_store.get_group(tx, org, call.params["id"], for_update=True)
    check_if_match(call, group.version)
    doc = normalize(GROUP, call.body)
    key = _members_key(call.body)
    ids = member_values(call.body[key]) if key is not None else None
    group = group_kinds.replace_group(
        tx, org, group, doc["displayName"], doc.get("externalId"), ids
    )
    return GROUPS.one(tx, call, group)


_PREFETCHED_GROUP = "prefetched group"


def prefetch_patch_group(call: Call, tx: Tx, key_digest: str) -> None:
    """The group a PATCH changes, locked, its statement sent with the key's (one round trip
    for both, pipelined)."""
    call.memo[_PREFETCHED_GROUP] = search.locked_group_of_key_later(
        tx, key_digest, call.params["id"]
    )


def patch_group(call: Call, tx: Tx, org: Org) -> Outcome:
    """PATCH answers 204 unless the client asks for attributes (RFC 7644 §3.5.2), so a
    one-member change never renders a large group."""
    prefetched = call.memo.pop(_PREFETCHED_GROUP, None)
    if prefetched is not None:
        group = prefetched(org)
    else:
        group = group_store.get_group(tx, org, call.params["id"], for_update=True)
    check_if_match(call, group.version)
    result = apply_patch(GROUP, _document(group), parse_patch(call.body), resource_id=group.id)
    group = group_kinds.change_group(
        tx,
        org,
        group,
        display_name=result.document["displayName"] if result.changed else None,
        external_id=result.document.get("externalId"),
        member_changes=result.member_changes,
    )
    if "attributes" in call.query or "excludedattributes" in call.query:
        return GROUPS.one(tx, call, group_store.get_group(tx, org, group.id))
    return Outcome(204)


def delete_group(call: Call, tx: Tx, org: Org) -> Outcome:
    group = group_store.get_group(tx, org, call.params["id"])
    check_if_match(call, group.version)
    group_kinds.delete_group(tx, org, group)
    return Outcome(204)
