"""`/access/check`: the host product's access decisions, many in one call."""

from __future__ import annotations

from typing import Any

from scimitar.domain.access import decisions
from scimitar.domain.access.decisions import AccessCheck
from scimitar.domain.context import Tx
from scimitar.faces.web.auth import Principal
from scimitar.faces.web.wire import ApiCall, Reply, bad_request

_CHECK_FIELDS = ("member", "project", "role", "permission")


def _check(index: int, item: Any) -> AccessCheck:
    if not isinstance(item, dict):
        raise bad_request(f"Check {index} must be a JSON object")
    unknown = sorted(set(item) - set(_CHECK_FIELDS))
    if unknown:
        raise bad_request(
            f"Check {index}: unknown field {unknown[0]!r}; allowed: {', '.join(_CHECK_FIELDS)}"
        )
    values: dict[str, str | None] = {}
    for name in _CHECK_FIELDS:
        value = item.get(name)
        if value is None and name in ("member", "project"):
            raise bad_request(f"Check {index}: field {name!r} is required")
        if value is not None and not isinstance(value, str):
            raise bad_request(f"Check {index}: field {name!r} must be a string")
        values[name] = value
    member, project = values["member"], values["project"]
    assert member is not None and project is not None
    return AccessCheck(member, project, values["role"], values["permission"])


def check_access(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    """Answer every check in request order (unknown names are refusals, not errors)."""
    body = call.fields(("checks",))
    items = body.get("checks")
    if not isinstance(items, list):
        raise bad_request("Field 'checks' must be a list of checks")
    checks = [_check(index, item) for index, item in enumerate(items)]
    answers = decisions.check_access(tx, who.org, checks)
    return 200, {
        "results": [
            {
                "allowed": d.allowed,
                "role": d.role,
                "permissions": list(d.permissions),
                "reasons": list(d.reasons),
            }
            for d in answers
        ]
    }
