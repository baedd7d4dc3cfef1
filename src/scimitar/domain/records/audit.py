"""The audit log: every change by anyone, with before and after."""

from __future__ import annotations

from typing import Any

from scimitar.domain.context import Tx
from scimitar.storage.prepared import driver, prepared_insert
from scimitar.storage.tables import audit_log

_INSERT = prepared_insert(audit_log, exclude={"id"})


def record(
    tx: Tx,
    org_id: str,
    action: str,
    resource_type: str,
    resource_id: str | None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Write one audit entry in the transaction of the change it describes."""
    _INSERT.send(
        driver(tx.conn),
        {
            "org_id": org_id,
            "at": tx.now,
            "actor_kind": tx.actor.kind.value,
            "actor_id": tx.actor.id,
            "actor_label": tx.actor.label,
            "action": action,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "before": before,
            "after": after,
        },
    )
