"""How each resource type is searched and rendered, shared by its endpoints and `/.search`."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar

from scimitar.domain.context import Tx
from scimitar.domain.directory.search import ResultPage, unique_lookup
from scimitar.domain.models import Org
from scimitar.faces.scim import render
from scimitar.faces.scim.call import Call, Outcome
from scimitar.protocol.cursors import Cursor
from scimitar.protocol.errors import InvalidFilter, InvalidValue, ScimError
from scimitar.protocol.listing import (
    ListRequest,
    Query,
    cursor_list_response,
    list_response,
    parse_list_request,
)
from scimitar.protocol.projection import Projection
from scimitar.protocol.schema import ResourceType


class Versioned(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def seq(self) -> int: ...

    @property
    def version(self) -> int: ...


R = TypeVar("R", bound=Versioned)


@dataclass(frozen=True)
class Resources(Generic[R]):
    """One resource type: how its pages are found and how its resources are rendered."""

    resource_type: ResourceType
    search: Callable[[Tx, Org, Query], ResultPage[R]]
    render: Callable[[Tx, Call, Projection, list[R]], list[dict[str, Any]]]
    #: An attribute that can be arbitrarily large (a group's `members`).
    unbounded: str | None = None

    def _bounded(self, projection: Projection) -> bool:
        return self.unbounded is None or not projection.wants(self.unbounded)

    def reads_one(self, call: Call) -> bool:
        """Whether `GET` of a list or of one resource reads at most one resource, by a unique
        index, and nothing unbounded: a request that costs as little as a point read."""
        try:
            if "id" in call.params:
                return self._bounded(self.projection(call))
            request = self._list_request(call, call.query)
            query = request.query
            unique = unique_lookup(self.resource_type, query)
        except ScimError:
            return False
        return unique and self._bounded(request.projection)

    def list_request(self, call: Call) -> ListRequest:
        """The list request of the query string, parsed once per call."""
        return self._list_request(call, call.query)

    def _list_request(self, call: Call, params: dict[str, Any]) -> ListRequest:
        if params is not call.query:
            return parse_list_request(self.resource_type, params)
        key = f"list {self.resource_type.name}"
        request: ListRequest | None = call.memo.get(key)
        if request is None:
            request = call.memo[key] = parse_list_request(self.resource_type, params)
        return request

    def projection(self, call: Call) -> Projection:
        """The query's `attributes` / `excludedAttributes`, parsed once per call (deciding
        how to run a GET by id and running it both ask)."""
        key = f"projection {self.resource_type.name}"
        projection: Projection | None = call.memo.get(key)
        if projection is None:
            projection = call.memo[key] = Projection.parse(
                self.resource_type,
                call.query.get("attributes"),
                call.query.get("excludedattributes"),
            )
        return projection

    def one(
        self,
        tx: Tx,
        call: Call,
        item: R,
        status: int = 200,
        *,
        renderer: Callable[[Tx, Call, Projection, list[R]], list[dict[str, Any]]] | None = None,
    ) -> Outcome:
        """A single resource, shaped by the request's `attributes` / `excludedAttributes`
        (rendered by `renderer` when the caller knows more than `self.render` would read)."""
        [body] = (renderer or self.render)(tx, call, self.projection(call), [item])
        headers = {"ETag": render.etag(item.version)}
        if status == 201:
            headers["Location"] = f"{call.base}{self.resource_type.endpoint}/{item.id}"
        return Outcome(status, body, headers)

    def list(self, tx: Tx, call: Call, org: Org, params: dict[str, Any]) -> Outcome:
        request = self._list_request(call, params)
        if request.cursor is not None:
            return self._cursor_page(tx, call, org, request)
        page = self.search(tx, org, request.query)
        resources = self.render(tx, call, request.projection, page.items)
        return Outcome(200, list_response(page.total, request.start_index, resources))

    def _cursor_page(self, tx: Tx, call: Call, org: Org, request: ListRequest) -> Outcome:
        """RFC 9865: a page from a cursor ("" for the first). One row more than asked says
        whether a page lies beyond; in the default order pages are keyset pages."""
        assert request.cursor is not None and call.cursors is not None
        query, count = request.query, request.query.limit
        shape = "|".join(
            (self.resource_type.name, repr(query.filter), str(query.sort_by), str(query.descending))
        )
        digest = hashlib.sha256(shape.encode()).hexdigest()[:24]
        at = Cursor()
        if request.cursor:
            at = call.cursors.decode(request.cursor, org_id=org.id, query=digest, count=count)
        if count == 0:
            return Outcome(
                200, cursor_list_response(self.search(tx, org, query).total, [], None, None)
            )
        keyset = query.sort_by is None
        offset = 0 if keyset else at.offset or 0
        window = replace(query, offset=offset, limit=count + 1, after=at.after, before=at.before)
        page = self.search(tx, org, window)
        items = page.items
        beyond = len(items) > count
        if at.before is not None:  # came backwards: the extra row is the earliest
            items, more_before, more_after = items[-count:] if beyond else items, beyond, True
        else:
            items = items[:count]
            more_before, more_after = at.after is not None or offset > 0, beyond

        def issue(cursor: Cursor) -> str:
            assert call.cursors is not None
            return call.cursors.encode(cursor, org_id=org.id, query=digest, count=count)

        next_cursor = previous = None
        if more_after and items:
            next_cursor = issue(
                Cursor(after=items[-1].seq) if keyset else Cursor(offset=offset + count)
            )
        elif more_after and at.before is not None:
            # Walked back onto rows deleted since: carry on from where the client came.
            next_cursor = issue(Cursor(after=at.before - 1))
        if more_before and items:
            previous = issue(
                Cursor(before=items[0].seq) if keyset else Cursor(offset=max(0, offset - count))
            )
        resources = self.render(tx, call, request.projection, items)
        return Outcome(200, cursor_list_response(page.total, resources, next_cursor, previous))


def search_all(
    tx: Tx, call: Call, org: Org, params: dict[str, Any], kinds: Sequence[Resources[Any]]
) -> Outcome:
    """`POST /.search` over every resource type (RFC 7644 §3.4.3): `kinds` in order, paged as
    one list. A type whose schema lacks a filtered attribute contributes nothing."""
    if "cursor" in params:
        raise InvalidValue(
            "Cursor pagination (RFC 9865) is offered per resource type: search "
            "/Users/.search or /Groups/.search with a cursor, or page /.search by startIndex"
        )
    found: list[tuple[Resources[Any], ListRequest, int]] = []
    first_error: InvalidFilter | None = None
    for kind in kinds:
        request = parse_list_request(kind.resource_type, params)
        try:
            total = kind.search(tx, org, replace(request.query, offset=0, limit=0)).total
        except InvalidFilter as exc:
            first_error = first_error or exc
            continue
        found.append((kind, request, total))
    if not found:
        assert first_error is not None
        raise first_error
    first = found[0][1]
    offset, wanted = first.query.offset, first.query.limit
    resources: list[dict[str, Any]] = []
    for kind, request, total in found:
        if len(resources) < wanted and offset < total:
            window = replace(request.query, offset=offset, limit=wanted - len(resources))
            items = kind.search(tx, org, window).items
            resources.extend(kind.render(tx, call, request.projection, items))
        offset = max(0, offset - total)
    grand_total = sum(total for _, _, total in found)
    return Outcome(200, list_response(grand_total, first.start_index, resources))
