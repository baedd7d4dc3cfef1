"""Where sealed secrets live, the deployment's `Sealer`, and resealing after a key change.

The key: `SCIMITAR_SECRET_KEY` when set (it stays in the environment and is never written to
the database), else a key generated once and stored in `server_secrets` (as the other
generated secrets are). Sealing then protects against a leaked copy of the tables that hold
sealed values (a column, an export, a backup of some tables), not against a dump of the
whole database, which holds the generated key too; only a key kept outside the database
protects against that.

Every column holding sealed values is listed in `SEALED_COLUMNS`, with the context each row
seals under; `seal_clear_values` and `reseal` walk that list, so a new kind of sealed secret
(say an OIDC client secret, context `sso:<org id>`) joins them by adding one entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Table, delete, select, update

from scimitar.domain.context import SYSTEM_ACTOR, Tx
from scimitar.domain.identity import sessions
from scimitar.domain.identity.sealing import PREFIX, Sealer, SealError, is_sealed
from scimitar.storage.database import Database
from scimitar.storage.tables import server_secrets, sso_connections, webhook_endpoints

#: The `server_secrets` row of the generated key (only without `SCIMITAR_SECRET_KEY`).
GENERATED_KEY_NAME = "sealing"


def webhook_context(endpoint_id: str) -> str:
    """What a webhook endpoint's signing secret is sealed to (its row, not another)."""
    return f"webhook:{endpoint_id}"


@dataclass(frozen=True)
class SealedColumn:
    table: Table
    column: Column[Any]
    #: The context a row's value is sealed under, from the row's primary key.
    context: Callable[[str], str]

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column.name}"


def sso_context(org_id: str) -> str:
    """What an org's OIDC client secret is sealed to."""
    return f"sso:{org_id}"


SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    SealedColumn(webhook_endpoints, webhook_endpoints.c.secret, webhook_context),
    SealedColumn(sso_connections, sso_connections.c.client_secret, sso_context),
)


def deployment_sealer(db: Database, configured: str | None) -> Sealer:
    """The deployment's `Sealer`; seals any value still in clear (idempotent: a start-up
    step of every process, see `seal_clear_values`). With `configured`, a generated key
    still stored (from before `SCIMITAR_SECRET_KEY` was set) opens what it sealed until
    `scimitar secrets reseal` moves those values to the configured key and deletes it."""
    if configured is not None:
        with db.read() as conn:
            stored = generated_key(Tx(conn, SYSTEM_ACTOR))
            clear = _clear_rows_exist(conn)
        sealer = Sealer(configured, older=(stored,) if stored else ())
    else:
        sealer = Sealer(sessions.deployment_secret(db, None, GENERATED_KEY_NAME))
        with db.read() as conn:
            clear = _clear_rows_exist(conn)
    if clear:
        with db.write() as conn:
            seal_clear_values(Tx(conn, SYSTEM_ACTOR), sealer)
    return sealer


def _clear_rows_exist(conn: Any) -> bool:
    for sealed in SEALED_COLUMNS:
        query = select(sealed.column).where(~sealed.column.startswith(PREFIX)).limit(1)
        if conn.execute(query).first() is not None:
            return True
    return False


def seal_clear_values(tx: Tx, sealer: Sealer) -> int:
    """Seal every value still stored in clear (rows from before sealing); returns how many.
    Running it again finds nothing to do."""
    count = 0
    for sealed in SEALED_COLUMNS:
        key = sealed.table.primary_key.columns.values()[0]
        rows = tx.conn.execute(
            select(key, sealed.column).where(~sealed.column.startswith(PREFIX))
        ).all()
        for row_id, value in rows:
            _store(tx, sealed, row_id, sealer.seal(value, context=sealed.context(row_id)))
            count += 1
    return count


def reseal(tx: Tx, sealer: Sealer) -> int:
    """Seal every value under the sealer's current key (opening it with any key the sealer
    knows, or taking it as it is when still in clear); returns how many changed. One
    transaction: a value no known key opens raises `SealError` naming it, and nothing is
    changed. Running it again changes nothing."""
    count = 0
    for sealed in SEALED_COLUMNS:
        key = sealed.table.primary_key.columns.values()[0]
        for row_id, value in tx.conn.execute(select(key, sealed.column)).all():
            if not sealer.needs_reseal(value):
                continue
            context = sealed.context(row_id)
            try:
                plain = sealer.unseal(value, context=context) if is_sealed(value) else value
            except SealError as error:
                raise SealError(f"{sealed.name} of {row_id}: {error}") from None
            _store(tx, sealed, row_id, sealer.seal(plain, context=context))
            count += 1
    return count


def forget_generated_key(tx: Tx) -> bool:
    """Delete the generated key from the database (once `SCIMITAR_SECRET_KEY` is set and
    everything is resealed under it); returns whether there was one."""
    result = tx.conn.execute(
        delete(server_secrets).where(server_secrets.c.name == GENERATED_KEY_NAME)
    )
    return bool(result.rowcount)


def generated_key(tx: Tx) -> str | None:
    """The generated key stored in the database, if any."""
    query = select(server_secrets.c.value).where(server_secrets.c.name == GENERATED_KEY_NAME)
    value = tx.conn.execute(query).scalar_one_or_none()
    return None if value is None else str(value)


def _store(tx: Tx, sealed: SealedColumn, row_id: str, value: str) -> None:
    key = sealed.table.primary_key.columns.values()[0]
    tx.conn.execute(update(sealed.table).where(key == row_id).values({sealed.column.name: value}))
