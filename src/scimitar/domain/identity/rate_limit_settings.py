"""An organization's own rate limits: requests per second per SCIM key and per admin API
token, instead of the deployment's (`SCIMITAR_SCIM_RATE_LIMIT`, `SCIMITAR_API_RATE_LIMIT`).
None means the deployment's; 0 means no limit. Read with the credential (`keys`), so
enforcing them costs no query of its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update

from scimitar.domain.context import Tx
from scimitar.domain.errors import InvalidError
from scimitar.domain.models import Org
from scimitar.domain.records import audit
from scimitar.storage.tables import org_rate_limits, orgs

#: The largest rate an org may set (requests per second); beyond it, set 0 (no limit).
MAX_RATE = 1_000_000


@dataclass(frozen=True)
class OrgRateLimits:
    scim_per_second: int | None = None
    api_per_second: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"scim_per_second": self.scim_per_second, "api_per_second": self.api_per_second}


class Unchanged:
    """A field left as it is (None means back to the deployment's default)."""


UNCHANGED = Unchanged()


def get_rate_limits(tx: Tx, org: Org) -> OrgRateLimits:
    row = tx.conn.execute(select(org_rate_limits).where(org_rate_limits.c.org_id == org.id)).first()
    if row is None:
        return OrgRateLimits()
    return OrgRateLimits(row.scim_per_second, row.api_per_second)


def check_rate(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RATE:
        raise InvalidError(
            f"{name} must be a whole number of requests per second from 0 (no limit) to "
            f"{MAX_RATE}, or null for the deployment's default"
        )
    return value


def set_rate_limits(
    tx: Tx,
    org: Org,
    *,
    scim_per_second: int | Unchanged | None = UNCHANGED,
    api_per_second: int | Unchanged | None = UNCHANGED,
) -> OrgRateLimits:
    """Change the org's rate limits (audited); a field left `UNCHANGED` keeps its value."""
    # The org's row locked first: two first changes at once must not both insert.
    tx.conn.execute(select(orgs.c.id).where(orgs.c.id == org.id).with_for_update()).first()
    before = get_rate_limits(tx, org)
    after = OrgRateLimits(
        before.scim_per_second
        if isinstance(scim_per_second, Unchanged)
        else check_rate("scim_per_second", scim_per_second),
        before.api_per_second
        if isinstance(api_per_second, Unchanged)
        else check_rate("api_per_second", api_per_second),
    )
    if after == before:
        return after
    if after == OrgRateLimits():
        tx.conn.execute(delete(org_rate_limits).where(org_rate_limits.c.org_id == org.id))
    elif before == OrgRateLimits():
        tx.conn.execute(insert(org_rate_limits).values(org_id=org.id, **after.to_json()))
    else:
        tx.conn.execute(
            update(org_rate_limits)
            .where(org_rate_limits.c.org_id == org.id)
            .values(**after.to_json())
        )
    audit.record(
        tx,
        org.id,
        "org.rate_limits_updated",
        "org",
        org.id,
        before=before.to_json(),
        after=after.to_json(),
    )
    return after
