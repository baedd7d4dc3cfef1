"""`/rate-limits`: the organization's own rate limits (null: the deployment's default)."""

from __future__ import annotations

from typing import Any

from scimitar.domain.context import Tx
from scimitar.domain.identity import rate_limit_settings
from scimitar.faces.web.auth import Principal
from scimitar.faces.web.wire import ApiCall, Reply

FIELDS = ("scim_per_second", "api_per_second")


def get_rate_limits(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    return 200, rate_limit_settings.get_rate_limits(tx, who.org).to_json()


def update_rate_limits(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    body = call.fields(FIELDS)
    changes: dict[str, Any] = {name: body[name] for name in FIELDS if name in body}
    return 200, rate_limit_settings.set_rate_limits(tx, who.org, **changes).to_json()
