"""`/access/check`: the host product's access decisions, many in one call."""

from __future__ import annotations

from typing import Any

from scimitar.domain.access import decisions
from scimitar.domain.access.decisions import AccessCheck
from scimitar.domain.context import Tx
from scimitar.domain.errors import DomainError
from scimitar.faces.web.auth import Principal
from scimitar.faces.web.wire import ApiCall, ApiError, Reply, bad_request
from scimitar.storage.limits import ValueRefused

_CHECK_FIELDS = ("member", "project", "role", "permission")
#: A call of at most this many checks is decided on the event loop on SQLite (a few index
#: probes each: cheaper than the thread pool's round trip, and no long hold of the loop).
INLINE_CHECKS = 10


def few_checks(call: ApiCall) -> bool:
    checks = call.body.get("checks") if isinstance(call.body, dict) else None
    return isinstance(checks, list) and len(checks) <= INLINE_CHECKS


_ALLOWED = frozenset(_CHECK_FIELDS)


def _check(index: int, item: Any) -> AccessCheck:
    if not isinstance(item, dict):
        raise bad_request(f"Check {index} must be a JSON object")
    if not _ALLOWED.issuperset(item):
        unknown = sorted(set(item) - _ALLOWED)
        raise bad_request(
            f"Check {index}: unknown field {unknown[0]!r}; allowed: {', '.join(_CHECK_FIELDS)}"
        )
    member, project = item.get("member"), item.get("project")
    role, permission = item.get("role"), item.get("permission")
    if (
        type(member) is str
        and type(project) is str
        and (role is None or type(role) is str)
        and (permission is None or type(permission) is str)
    ):
        return AccessCheck(member, project, role, permission)
    for name in _CHECK_FIELDS:  # what is wrong, in the order of the fields
        value = item.get(name)
        if value is None and name in ("member", "project"):
            raise bad_request(f"Check {index}: field {name!r} is required")
        if value is not None and not isinstance(value, str):
            raise bad_request(f"Check {index}: field {name!r} must be a string")
    raise AssertionError("unreachable: every field is a string or absent")


def _checks(call: ApiCall) -> list[AccessCheck]:
    """The body's checks, each well formed (read once per call: the prefetch reads them
    before the handler)."""
    parsed: list[AccessCheck] | None = call.memo.get("checks")
    if parsed is None:
        parsed = call.memo["checks"] = _parse(call)
    return parsed


def _parse(call: ApiCall) -> list[AccessCheck]:
    body = call.fields(("checks",))
    items = body.get("checks")
    if not isinstance(items, list):
        raise bad_request("Field 'checks' must be a list of checks")
    return [_check(index, item) for index, item in enumerate(items)]


def prefetch_member(call: ApiCall, tx: Tx, token_digest: str) -> None:
    """Send the one member's reads with the token's statement (when the checks name one)."""
    try:
        checks = _checks(call)
        call.memo["member"] = decisions.prefetch_one_member(tx, token_digest, checks)
    except (ApiError, DomainError, ValueRefused):
        return  # refused by the handler, once the caller is known


def check_access(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    """Answer every check in request order (unknown names are refusals, not errors)."""
    checks = _checks(call)
    prefetched = call.memo.get("member") if who.token_id is not None else None
    answers = decisions.check_access(tx, who.org, checks, who.structure_version, prefetched)
    # The tuples as they are: the JSON encoder writes them as arrays.
    return 200, {
        "results": [
            {
                "allowed": d.allowed,
                "role": d.role,
                "permissions": d.permissions,
                "reasons": d.reasons,
            }
            for d in answers
        ]
    }
