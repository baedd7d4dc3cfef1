"""An admin API endpoint as declared in `routes`: method, path, handler and what the OpenAPI
document says of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scimitar.domain.context import Tx
from scimitar.domain.identity.operators import OperatorToken
from scimitar.faces.admin.schemas import INTEGER, Schema
from scimitar.faces.web.auth import Principal
from scimitar.faces.web.wire import ApiCall, Reply

PREFIX = "/api/v1"

Handler = Callable[[ApiCall, Tx, Principal], Reply]
#: A long poll's handler: None when there is nothing yet and the caller may wait for it.
Poll = Callable[[ApiCall, Tx, Principal], Reply | None]
#: An operator endpoint's handler: it acts on organizations, from outside any of them.
OperatorHandler = Callable[[ApiCall, Tx, OperatorToken], Reply]


@dataclass(frozen=True)
class Param:
    """A query parameter."""

    name: str
    description: str
    schema: Schema


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler | Poll | None
    summary: str
    tag: str
    #: Component name of the answer's body; None for 204 No Content.
    response: str | None
    status: int = 200
    request: str | None = None
    query: tuple[Param, ...] = ()
    owner_only: bool = False
    #: The query parameter that asks a long poll to wait (seconds) while `handler` answers
    #: None; None for an ordinary endpoint.
    wait: Param | None = None
    #: Set (with `handler` None) for the operator endpoints, which take an operator token.
    operator_handler: OperatorHandler | None = None
    #: The body may be left out altogether (every field of it is optional).
    body_optional: bool = False
    #: A POST that changes nothing (access checks): run in a read transaction.
    reads_only: bool = False
    #: Which calls are cheap enough to run on the event loop (SQLite reads only; see
    #: `AdminApi`); None: every call runs in the thread pool.
    inline: Callable[[ApiCall], bool] | None = None
    #: Sends reads ahead with the token's own statement (pipelined PostgreSQL), given the
    #: digest of the request's admin API token; what it sends is used only once the token
    #: is found good, and only for its org.
    prefetch: Callable[[ApiCall, Tx, str], None] | None = None

    @property
    def name(self) -> str:
        run = self.handler or self.operator_handler
        assert run is not None
        return run.__name__

    @property
    def operator(self) -> bool:
        return self.operator_handler is not None

    @property
    def changes(self) -> bool:
        return self.method != "GET"


def operator_endpoint(
    method: str,
    path: str,
    handler: OperatorHandler,
    summary: str,
    response: str | None,
    status: int = 200,
    *,
    request: str | None = None,
    query: tuple[Param, ...] = (),
    body_optional: bool = False,
) -> Endpoint:
    """An operator endpoint (tag `orgs`)."""
    return Endpoint(
        method,
        path,
        None,
        summary,
        "orgs",
        response,
        status,
        request,
        query,
        operator_handler=handler,
        body_optional=body_optional,
    )


#: The paging parameters of a list.
LIMIT = Param("limit", "page size (1-200, default 50)", {**INTEGER, "minimum": 1, "maximum": 200})
OFFSET = Param("offset", "items to skip (default 0)", {**INTEGER, "minimum": 0})
PAGE = (LIMIT, OFFSET)
BEFORE = Param("before", "cursor: only entries with a smaller id (the next_before)", INTEGER)
