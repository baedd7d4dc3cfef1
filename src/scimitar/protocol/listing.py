"""List and search requests (RFC 7644 §3.4.2, §3.4.3) and their ListResponse."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scimitar.protocol import errors
from scimitar.protocol.filter import AttrPath, Filter, parse_attr_path, parse_filter
from scimitar.protocol.projection import Projection
from scimitar.protocol.schema import LIST_RESPONSE, SEARCH_REQUEST, ResourceType

MAX_START = 2**31 - 1
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Query:
    """What a list request asks for, already parsed."""

    filter: Filter | None = None
    sort_by: AttrPath | None = None
    descending: bool = False
    offset: int = 0
    limit: int = 100
    #: Keyset bounds (cursor pages in the default order): only rows whose `seq` is above
    #: `after`, or below `before` (then the `limit` rows nearest to it, still in order).
    after: int | None = None
    before: int | None = None

    @property
    def keyset(self) -> bool:
        return self.after is not None or self.before is not None


@dataclass(frozen=True)
class ListRequest:
    query: Query
    start_index: int
    projection: Projection
    #: RFC 9865: the `cursor` sent ("" for a first page), or None for index pagination.
    cursor: str | None = None


def _integer(name: str, raw: Any) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise errors.InvalidValue(f"{name} must be an integer")
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise errors.InvalidValue(f"{name} must be an integer, not {raw!r}") from None


def _names(name: str, raw: Any) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        return ",".join(raw)
    if isinstance(raw, str):
        return raw
    raise errors.InvalidValue(f"{name} must be a list of attribute names")


def parse_list_request(resource_type: ResourceType, params: dict[str, Any]) -> ListRequest:
    """From query parameters (lower-cased names) or a SearchRequest body."""
    text = params.get("filter")
    if text is not None and not isinstance(text, str):
        raise errors.InvalidFilter("filter must be a string")
    tree = parse_filter(text) if text else None
    # Past MAX_START no page can hold anything: clamp, so the database never sees an
    # integer it cannot bind (a huge OFFSET is an overflow on SQLite, out of range on PG).
    cursor = params.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise errors.InvalidCursor("cursor must be a string")
    start_index = _integer("startIndex", params.get("startindex"))
    if cursor is not None and start_index not in (None, 1):
        raise errors.InvalidValue(
            "Send either startIndex (index pagination) or cursor (RFC 9865), not both"
        )
    start = min(max(start_index or 1, 1), MAX_START)
    count = _integer("count", params.get("count"))
    count = DEFAULT_PAGE_SIZE if count is None else min(max(count, 0), MAX_PAGE_SIZE)
    sort_text = params.get("sortby")
    sort_by = None
    if sort_text:
        sort_by = parse_attr_path(str(sort_text))
        if sort_by is None:
            raise errors.InvalidValue(f"sortBy {sort_text!r} is not an attribute name")
    order = str(params.get("sortorder") or "ascending").lower()
    if order not in ("ascending", "descending"):
        raise errors.InvalidValue("sortOrder must be 'ascending' or 'descending'")
    projection = Projection.parse(
        resource_type,
        _names("attributes", params.get("attributes")),
        _names("excludedAttributes", params.get("excludedattributes")),
    )
    query = Query(tree, sort_by, order == "descending", start - 1, count)
    return ListRequest(query, start, projection, cursor)


def search_params(body: Any) -> dict[str, Any]:
    """A SearchRequest body (RFC 7644 §3.4.3) as list parameters."""
    if not isinstance(body, dict):
        raise errors.InvalidSyntax("A SearchRequest must be a JSON object")
    schemas = body.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or SEARCH_REQUEST not in schemas):
        raise errors.InvalidSyntax(f"schemas must contain {SEARCH_REQUEST}")
    return {k.lower(): v for k, v in body.items() if k != "schemas"}


def list_response(total: int, start: int, resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def cursor_list_response(
    total: int, resources: list[dict[str, Any]], next_cursor: str | None, previous: str | None
) -> dict[str, Any]:
    """A cursor page (RFC 9865 §2): no startIndex; `nextCursor` on every page but the last,
    `previousCursor` on every page but the first."""
    body: dict[str, Any] = {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": len(resources),
    }
    if next_cursor is not None:
        body["nextCursor"] = next_cursor
    if previous is not None:
        body["previousCursor"] = previous
    body["Resources"] = resources
    return body
