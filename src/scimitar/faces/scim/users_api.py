"""`/Users`: thin translation between SCIM requests and the member rules of the domain."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scimitar.domain.context import Tx
from scimitar.domain.directory import group_store, people, search
from scimitar.domain.models import Member, Org
from scimitar.faces.scim import groups_api, render
from scimitar.faces.scim.call import Call, Outcome, check_if_match, not_modified
from scimitar.faces.scim.resources import Resources, search_all
from scimitar.protocol.listing import list_response, search_params
from scimitar.protocol.patch import apply_patch, parse_patch
from scimitar.protocol.projection import Projection
from scimitar.protocol.resource import normalize
from scimitar.protocol.schema import USER


def _render(
    tx: Tx, call: Call, projection: Projection, found: list[Member]
) -> list[dict[str, Any]]:
    refs = (
        group_store.groups_of_members(tx, [m.id for m in found])
        if projection.wants("groups")
        else {}
    )
    return [projection.apply(render.user(m, call.base, refs.get(m.id))) for m in found]


def _render_created(
    _tx: Tx, call: Call, projection: Projection, found: list[Member]
) -> list[dict[str, Any]]:
    """Members this request created: in no group yet, so there is nothing to read."""
    return [projection.apply(render.user(m, call.base, None)) for m in found]


USERS: Resources[Member] = Resources(USER, search.search_members, _render)
Renderer = Callable[[Tx, Call, Projection, list[Member]], list[dict[str, Any]]]
#: Reads sent with the SCIM key's statement (PostgreSQL, pipelined: one round trip for
#: all), by the org the key names; the handler uses them once the key is found good.
_PREFETCHED = "prefetched users"


def _with_groups(groups: Callable[[], list[tuple[str, str]]] | None) -> Renderer:
    """Renders members whose groups were read already (None: not wanted). A deactivated
    member is in no group."""

    def renderer(
        _tx: Tx, call: Call, projection: Projection, found: list[Member]
    ) -> list[dict[str, Any]]:
        return [
            projection.apply(
                render.user(m, call.base, groups() if groups is not None and m.active else None)
            )
            for m in found
        ]

    return renderer


def list_users(call: Call, tx: Tx, org: Org) -> Outcome:
    prefetched = call.memo.pop(_PREFETCHED, None)
    if prefetched is not None:
        page, refs = prefetched(org)
        request = USERS.list_request(call)
        resources = [
            request.projection.apply(
                render.user(m, call.base, refs.get(m.id) if refs is not None else None)
            )
            for m in page.items
        ]
        return Outcome(200, list_response(page.total, request.start_index, resources))
    return USERS.list(tx, call, org, call.query)


def search_users(call: Call, tx: Tx, org: Org) -> Outcome:
    return USERS.list(tx, call, org, search_params(call.body))


def search_root(call: Call, tx: Tx, org: Org) -> Outcome:
    return search_all(tx, call, org, search_params(call.body), [USERS, groups_api.GROUPS])


def get_user(call: Call, tx: Tx, org: Org) -> Outcome:
    prefetched = call.memo.pop(_PREFETCHED, None)
    renderer: Renderer | None = None
    if prefetched is not None:
        member = prefetched[0](org)
        renderer = _with_groups(prefetched[1])
    else:
        member = people.get_member(tx, org, call.params["id"])
    if not_modified(call, member.version):
        return Outcome(304, None, {"ETag": render.etag(member.version)})
    return USERS.one(tx, call, member, renderer=renderer)


def prefetch_get_user(call: Call, tx: Tx, key_digest: str) -> None:
    member_id = call.params["id"]
    member = search.member_of_key_later(tx, key_digest, member_id)
    groups = (
        group_store.groups_of_member_later(tx, member_id)
        if USERS.projection(call).wants("groups")
        else None
    )
    call.memo[_PREFETCHED] = (member, groups)


def prefetch_list_users(call: Call, tx: Tx, key_digest: str) -> None:
    request = USERS.list_request(call)
    if request.cursor is not None:
        return
    found = search.unique_member_lookup_later(
        tx, key_digest, request.query, with_groups=request.projection.wants("groups")
    )
    if found is not None:
        call.memo[_PREFETCHED] = found


def create_user(call: Call, tx: Tx, org: Org) -> Outcome:
    member = people.create_member(tx, org, normalize(USER, call.body))
    return USERS.one(tx, call, member, 201, renderer=_render_created)


def _locked(call: Call, tx: Tx, org: Org) -> tuple[Member, Renderer]:
    """The member a write changes, locked, and how to render it after the change. Its groups
    are sent with the member's read where statements are pipelined (one round trip, after
    the lock), elsewhere read only when rendered (`Prepared.when_read`): either way the same
    groups, since a change of the member's own attributes leaves them as they are, and a
    deactivated member (whose groups the change empties) is rendered without any."""
    member_id = call.params["id"]
    member = people.get_member_later(tx, org, member_id, for_update=True)
    groups = (
        group_store.groups_of_member_later(tx, member_id)
        if USERS.projection(call).wants("groups")
        else None
    )
    return member(), _with_groups(groups)


def replace_user(call: Call, tx: Tx, org: Org) -> Outcome:
    member, renderer = _locked(call, tx, org)
    check_if_match(call, member.version)
    updated = people.update_member(tx, org, member, normalize(USER, call.body))
    return USERS.one(tx, call, updated, renderer=renderer)


def patch_user(call: Call, tx: Tx, org: Org) -> Outcome:
    member, renderer = _locked(call, tx, org)
    check_if_match(call, member.version)
    operations = parse_patch(call.body)
    result = apply_patch(USER, people.document(member), operations, resource_id=member.id)
    if result.changed:
        member = people.update_member(tx, org, member, result.document)
    return USERS.one(tx, call, member, renderer=renderer)


def delete_user(call: Call, tx: Tx, org: Org) -> Outcome:
    member = people.get_member(tx, org, call.params["id"], for_update=True)
    check_if_match(call, member.version)
    people.remove_member(tx, org, member)
    return Outcome(204)
