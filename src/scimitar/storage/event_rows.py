"""An org's events of one transaction, written without converting their values one by one.

Sent through the generic path (`Prepared.run_many`: each value looked up, checked and
converted by its column's converter), a hundred events (a deactivation out of a hundred
groups) cost more in Python than in the database. Here the values shared by a
transaction's events (org, time, actor) are converted once, and each event's own are made
ready for the driver in one pass:

- SQLite: one row of positional values per event, in one `executemany`;
- PostgreSQL: one JSON array of all the events (one parameter, serialized once), which
  the server takes apart with `jsonb_array_elements` in one statement.

Measured in docs/performance.md (session 8). Each event's `seq` is worked out by the
database from the org's counter as the transaction left it (`next_seq`, which already
counts these events, less those after it), so nothing is read back and, pipelined, the
insert travels with the COMMIT.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Dialect, text

from scimitar.storage.limits import (
    check_parameters,
    plainly_storable,
    plainly_storable_json,
    table_limits,
)
from scimitar.storage.prepared import Driver, Prepared, run_many_as_given
from scimitar.storage.tables import event_counters, events, provisioning_log

#: An event's values, in this order.
FIELDS = (
    "id",
    "type",
    "at",
    "actor_kind",
    "actor_id",
    "actor_label",
    "resource_type",
    "resource_id",
    "resource_version",
    "member_id",
    "data",
    "changed",
)
_AT = FIELDS.index("at")
_DATA = FIELDS.index("data")
_CHANGED = FIELDS.index("changed")
_COLUMNS = ", ".join(["org_id", "seq", *FIELDS, "request_id"])

# Every part of these statements' text is one of this module's constants; the values are
# parameters.
_SQLITE = (
    f"INSERT INTO {events.name} ({_COLUMNS}) VALUES "  # noqa: S608
    f"(?, (SELECT next_seq FROM {event_counters.name} WHERE org_id = ?) - ?, "
    f"{', '.join('?' for _ in FIELDS)}, ?)"
)


def _postgres(request_id: str) -> Prepared:
    types = {"at": "TIMESTAMPTZ", "resource_version": "INTEGER"}
    values = [
        f"e.value -> {i}"
        if i in (_DATA, _CHANGED)
        else f"CAST(e.value ->> {i} AS {types.get(name, 'TEXT')})"
        for i, name in enumerate(FIELDS)
    ]
    return Prepared(
        text(
            f"INSERT INTO {events.name} ({_COLUMNS}) "  # noqa: S608
            f"SELECT c.org_id, c.next_seq - :count + e.n - 1, {', '.join(values)}, {request_id} "
            f"FROM {event_counters.name} AS c, "
            "jsonb_array_elements(CAST(:events AS JSONB)) WITH ORDINALITY AS e(value, n) "
            "WHERE c.org_id = :org_id"
        )
    )


_POSTGRES = _postgres("CAST(:request_id AS BIGINT)")
#: Linked to the provisioning-log entry the transaction just wrote, its id never read back
#: (a pipelined transaction): its sequence's `currval`.
_POSTGRES_OF_LAST_LOGGED = _postgres(
    f"currval(pg_get_serial_sequence('{provisioning_log.name}', 'id'))"
)


def send_events(
    db: Driver,
    org_id: str,
    rows: list[list[Any]],
    request_id: int | None,
    *,
    of_last_logged: bool = False,
) -> None:
    """Write `rows` (each an event's values in `FIELDS` order, its time a datetime; changed
    in place) as the org's newest events, whose counter the transaction has already moved
    past them. Refused as any value written is (`storage.limits`: `ValueRefused`, nothing
    written). `of_last_logged`: linked to the provisioning-log entry just written
    (PostgreSQL)."""
    _convert_times(db.dialect, rows)
    if db.dialect.name == "sqlite":
        _send_sqlite(db, org_id, rows, request_id)
        return
    try:
        payload: str | None = orjson.dumps(rows).decode()
    except orjson.JSONEncodeError:  # e.g. a lone surrogate: the close look names it
        payload = None
    if payload is None or not plainly_storable_json(payload) or not _plainly_sized(rows):
        _check_closely(rows, request_id)
        assert payload is not None  # what does not serialize is refused by the close look
    statement = _POSTGRES_OF_LAST_LOGGED if of_last_logged else _POSTGRES
    values = {"org_id": org_id, "count": len(rows), "events": payload, "request_id": request_id}
    statement.send(db, values)


def _send_sqlite(db: Driver, org_id: str, rows: list[list[Any]], request_id: int | None) -> None:
    count = len(rows)
    parameters = []
    plain = _plainly_sized(rows)
    for back, row in zip(range(count, 0, -1), rows, strict=True):
        try:  # as SQLAlchemy's JSON columns store them (None as JSON null)
            data = orjson.dumps(row[_DATA]).decode()
            changed = orjson.dumps(row[_CHANGED]).decode()
        except orjson.JSONEncodeError:
            data = changed = "\\u0000"  # not plainly storable: the close look names it
        plain = plain and plainly_storable_json(data) and plainly_storable_json(changed)
        parameters.append(
            (org_id, org_id, back, *row[:_DATA], data, changed, request_id)  # _CHANGED last
        )
    if not plain:
        _check_closely(rows, request_id)
    run_many_as_given(db, _SQLITE, parameters)


def _convert_times(dialect: Dialect, rows: list[list[Any]]) -> None:
    """Each event's time as the engine takes it: as SQLAlchemy binds it (SQLite: its text
    form), else in ISO 8601 (PostgreSQL casts it). A transaction's events share their
    time: it is converted once."""
    convert: Callable[[datetime], Any] | None = events.c.at.type.dialect_impl(
        dialect
    ).bind_processor(dialect)
    write = convert if convert is not None else datetime.isoformat
    at: Any = None
    at_text: Any = None
    for row in rows:
        if row[_AT] is not at:
            at = row[_AT]
            at_text = write(at)
        row[_AT] = at_text


def _check_closely(rows: Sequence[Sequence[Any]], request_id: int | None) -> None:
    """`storage.limits`' close look at every value: raises `ValueRefused` for a value no
    engine may store."""
    by_column = [dict(zip(FIELDS, row, strict=True)) for row in rows]
    check_parameters(events, [{**row, "request_id": request_id} for row in by_column])


#: Each limited column's index in an event's values and the most characters an ASCII
#: value of it may have (`storage.limits`).
_SIZED = [
    (i, table_limits(events)[name][2])
    for i, name in enumerate(FIELDS)
    if i not in (_AT, _DATA, _CHANGED) and name != "resource_version"
]


def _plainly_sized(rows: list[list[Any]]) -> bool:
    """Whether each event's limited values are plainly within their columns' limits (a
    value that is the very object the previous event had is not looked at again)."""
    previous: list[Any] | None = None
    for row in rows:
        for index, limit in _SIZED:
            value = row[index]
            if previous is not None and previous[index] is value:
                continue
            if not plainly_storable(value, limit):
                return False
        previous = row
    return True
