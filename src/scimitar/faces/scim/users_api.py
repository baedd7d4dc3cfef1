"""`/Users`: thin translation between SCIM requests and the member rules of the domain."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from scimitar.domain import groups, members, search
from scimitar.domain.context import Tx
from scimitar.domain.models import Member, Org
from scimitar.faces.scim import groups_api, render
from scimitar.faces.scim.call import Call, Outcome, check_if_match, not_modified
from scimitar.faces.scim.listing import (
    ListRequest,
    list_response,
    parse_list_request,
    search_params,
)
from scimitar.protocol.errors import InvalidFilter
from scimitar.protocol.patch import apply_patch, parse_patch
from scimitar.protocol.projection import Projection
from scimitar.protocol.resource import normalize
from scimitar.protocol.schema import GROUP, USER, ResourceType


def _outcome(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Outcome:
    return Outcome(status, body, headers or {})


def _render(
    tx: Tx, call: Call, projection: Projection, found: list[Member]
) -> list[dict[str, Any]]:
    refs = groups.groups_of_members(tx, [m.id for m in found]) if projection.wants("groups") else {}
    return [projection.apply(render.user(m, call.base, refs.get(m.id))) for m in found]


def _one(tx: Tx, call: Call, member: Member, status: int = 200) -> Outcome:
    projection = Projection.parse(
        USER, call.query.get("attributes"), call.query.get("excludedattributes")
    )
    [body] = _render(tx, call, projection, [member])
    headers = {"ETag": render.etag(member.version)}
    if status == 201:
        headers["Location"] = (
            body.get("meta", {}).get("location") or f"{call.base}/Users/{member.id}"
        )
    return _outcome(status, body, headers)


def _list(call: Call, tx: Tx, org: Org, params: dict[str, Any]) -> Outcome:
    request = parse_list_request(USER, params)
    page = search.search_members(tx, org, request.query)
    resources = _render(tx, call, request.projection, page.items)
    return _outcome(200, list_response(page.total, request.start_index, resources))


def list_users(call: Call, tx: Tx, org: Org) -> Outcome:
    return _list(call, tx, org, call.query)


def search_users(call: Call, tx: Tx, org: Org) -> Outcome:
    return _list(call, tx, org, search_params(call.body))


def search_root(call: Call, tx: Tx, org: Org) -> Outcome:
    """`POST /.search` over every resource type (RFC 7644 §3.4.3): users, then groups, paged
    as one list. A type whose schema lacks a filtered attribute contributes nothing."""
    params = search_params(call.body)
    parts: list[tuple[ResourceType, Any, Any]] = [
        (USER, search.search_members, _render),
        (GROUP, search.search_groups, groups_api.render_groups),
    ]
    found: list[tuple[Any, Any, Any, ListRequest, int]] = []
    first_error: InvalidFilter | None = None
    for resource_type, run, render_page in parts:
        request = parse_list_request(resource_type, params)
        try:
            total = run(tx, org, replace(request.query, offset=0, limit=0)).total
        except InvalidFilter as exc:
            first_error = first_error or exc
            continue
        found.append((resource_type, run, render_page, request, total))
    if not found and first_error is not None:
        raise first_error
    resources: list[dict[str, Any]] = []
    offset = found[0][3].query.offset if found else 0
    wanted = found[0][3].query.limit if found else 0
    for _, run, render_page, request, total in found:
        if len(resources) < wanted and offset < total:
            page = run(
                tx, org, replace(request.query, offset=offset, limit=wanted - len(resources))
            )
            resources.extend(render_page(tx, call, request.projection, page.items))
        offset = max(0, offset - total)
    grand_total = sum(part[4] for part in found)
    start = found[0][3].start_index if found else 1
    return _outcome(200, list_response(grand_total, start, resources))


def get_user(call: Call, tx: Tx, org: Org) -> Outcome:
    member = members.get_member(tx, org, call.params["id"])
    if not_modified(call, member.version):
        return _outcome(304, None, {"ETag": render.etag(member.version)})
    return _one(tx, call, member)


def create_user(call: Call, tx: Tx, org: Org) -> Outcome:
    member = members.create_member(tx, org, normalize(USER, call.body))
    return _one(tx, call, member, 201)


def replace_user(call: Call, tx: Tx, org: Org) -> Outcome:
    member = members.get_member(tx, org, call.params["id"], for_update=True)
    check_if_match(call, member.version)
    updated = members.update_member(tx, org, member, normalize(USER, call.body))
    return _one(tx, call, updated)


def patch_user(call: Call, tx: Tx, org: Org) -> Outcome:
    member = members.get_member(tx, org, call.params["id"], for_update=True)
    check_if_match(call, member.version)
    operations = parse_patch(call.body)
    result = apply_patch(USER, members.document(member), operations, resource_id=member.id)
    if result.changed:
        member = members.update_member(tx, org, member, result.document)
    return _one(tx, call, member)


def delete_user(call: Call, tx: Tx, org: Org) -> Outcome:
    member = members.get_member(tx, org, call.params["id"], for_update=True)
    check_if_match(call, member.version)
    members.remove_member(tx, org, member)
    return _outcome(204)
