"""An org's events of one transaction: numbered, grouped into runs, written in one statement.

**Runs.** Consecutive events that differ only in their id, resource and data (the
`group.member_removed` of a member deactivated out of 100 groups, each `access.changed` of one
member) are stored as one row: the row's columns are the first event's, its `run` column
lists the others' `[id, resource_id, data]`, and they hold the sequence numbers after the
row's `seq`, one each. A row costs SQLite ~7 µs to insert (the table and four indexes), the
same again at the commit; a run costs one row. The feed expands runs back into the events
they are (`domain.events.feed.stored_events`): every event keeps its own id and number.

**No value converted one by one.** Sent through the generic path (`Prepared.run_many`: each
value looked up, checked and converted by its column's converter), a hundred events cost more
in Python than in the database. Here the values a transaction's events share (time, actor)
are converted once and each row made ready for the driver in one pass: SQLite gets rows of
positional values (`executemany`); PostgreSQL one JSON array of them (one parameter,
serialized once), which the server takes apart with `jsonb_array_elements` in the same
statement.

**Numbers.** The org's counter row is moved past the events first. SQLite reads the new
value back (`RETURNING`, no round trip in process); PostgreSQL works each row's `seq` out
from the counter inside the insert, so nothing is read back and, pipelined, the whole write
travels with the COMMIT.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import Dialect, text

from scimitar.storage.engines import PreparedCounterAdd
from scimitar.storage.limits import (
    check_parameters,
    plainly_storable,
    plainly_storable_json,
    table_limits,
)
from scimitar.storage.prepared import Driver, Prepared, first_as_given, run_many_as_given
from scimitar.storage.tables import event_counters, events, provisioning_log

#: The most events a row holds: what reading one of them costs (a webhook delivery's, whose
#: row is read whole) stays bounded however many groups a member leaves at once.
MAX_RUN = 256
#: An event's values as `write_events` takes them, in this order.
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
_ID, _AT, _RESOURCE, _DATA, _CHANGED = (
    FIELDS.index(name) for name in ("id", "at", "resource_id", "data", "changed")
)
#: The values the events of a run share: all but these three.
_OWN = (_ID, _RESOURCE, _DATA)
_shared = itemgetter(*(i for i in range(len(FIELDS)) if i not in _OWN))
#: A row's values: an event's, then its run (None, or the later events' own values).
_RUN = len(FIELDS)
_COLUMNS = ", ".join(["org_id", "seq", *FIELDS, "run", "request_id"])

# Every part of these statements' text is one of this module's constants; the values are
# parameters.
_SQLITE_COUNTER = (
    f"INSERT INTO {event_counters.name} (org_id, next_seq) VALUES (?, ?) "  # noqa: S608
    "ON CONFLICT (org_id) DO UPDATE SET next_seq = next_seq + ? RETURNING next_seq"
)
_SQLITE_INSERT = (
    f"INSERT INTO {events.name} ({_COLUMNS}) "  # noqa: S608
    f"VALUES ({', '.join('?' for _ in range(len(FIELDS) + 4))})"
)
_POSTGRES_COUNTER = PreparedCounterAdd(event_counters, "org_id", "next_seq")


def _postgres(request_id: str) -> Prepared:
    types = {"at": "TIMESTAMPTZ", "resource_version": "INTEGER"}
    values = [
        f"e.value -> {i}"
        if i in (_DATA, _CHANGED)
        else f"CAST(e.value ->> {i} AS {types.get(name, 'TEXT')})"
        for i, name in enumerate(FIELDS)
    ]
    run = f"NULLIF(e.value -> {_RUN}, 'null'::jsonb)"
    offset = f"CAST(e.value ->> {_RUN + 1} AS BIGINT)"
    return Prepared(
        text(
            f"INSERT INTO {events.name} ({_COLUMNS}) "  # noqa: S608
            f"SELECT c.org_id, c.next_seq - :count + {offset}, {', '.join(values)}, {run}, "
            f"{request_id} FROM {event_counters.name} AS c, "
            "jsonb_array_elements(CAST(:events AS JSONB)) AS e(value) "
            "WHERE c.org_id = :org_id"
        )
    )


_POSTGRES = _postgres("CAST(:request_id AS BIGINT)")
#: Linked to the provisioning-log entry the transaction just wrote, its id never read back
#: (a pipelined transaction): its sequence's `currval`.
_POSTGRES_OF_LAST_LOGGED = _postgres(
    f"currval(pg_get_serial_sequence('{provisioning_log.name}', 'id'))"
)


def write_events(
    db: Driver,
    org_id: str,
    pending: list[list[Any]],
    request_id: int | None,
    *,
    runs: bool = True,
    of_last_logged: bool = False,
) -> None:
    """Number `pending` (each an event's values in `FIELDS` order, its time a datetime;
    changed in place) as the org's newest events and write them, runs as one row each
    (`runs` False: a row per event). Refused as any value written is (`storage.limits`:
    `ValueRefused`, before anything is written). `of_last_logged`: linked to the
    provisioning-log entry just written (PostgreSQL, pipelined)."""
    count = len(pending)
    _convert_times(db.dialect, pending)
    rows = _runs(pending, MAX_RUN if runs else 1)
    if db.dialect.name == "sqlite":
        if of_last_logged:
            raise ValueError("SQLite links events to a provisioning-log entry by its id")
        documents = _documents(rows, request_id)
        first = first_as_given(db, _SQLITE_COUNTER, (org_id, 1 + count, count))[0] - count
        parameters = [
            (org_id, first + offset, *row[:_DATA], *written, request_id)
            for (offset, row), written in zip(rows, documents, strict=True)
        ]
        run_many_as_given(db, _SQLITE_INSERT, parameters)
        return
    try:
        payload = orjson.dumps([[*row, offset] for offset, row in rows]).decode()
    except orjson.JSONEncodeError:  # e.g. a lone surrogate: the close look names it
        _check_closely(rows, request_id)
        raise
    if not _plainly_sized(rows) or not plainly_storable_json(payload):
        _check_closely(rows, request_id)
    _POSTGRES_COUNTER.send(db, {"org_id": org_id, "initial": 1 + count, "count": count})
    statement = _POSTGRES_OF_LAST_LOGGED if of_last_logged else _POSTGRES
    values = {"org_id": org_id, "count": count, "events": payload, "request_id": request_id}
    statement.send(db, values)


def _documents(
    rows: list[tuple[int, list[Any]]], request_id: int | None
) -> list[tuple[str, str, str | None]]:
    """Each row's `data`, `changed` and `run` as SQLite's JSON columns store them (`data`
    and `changed` None as JSON null, as SQLAlchemy does; `run` None as NULL), checked."""
    documents = []
    plain = _plainly_sized(rows)
    try:
        for _offset, row in rows:
            data = orjson.dumps(row[_DATA]).decode()
            changed = orjson.dumps(row[_CHANGED]).decode()
            run = orjson.dumps(row[_RUN]).decode() if row[_RUN] is not None else None
            plain = plain and plainly_storable_json(data) and plainly_storable_json(changed)
            plain = plain and (run is None or plainly_storable_json(run))
            documents.append((data, changed, run))
    except orjson.JSONEncodeError:  # e.g. a lone surrogate: the close look names it
        _check_closely(rows, request_id)
        raise  # what it does not refuse is no JSON document either
    if not plain:
        _check_closely(rows, request_id)
    return documents


def _runs(pending: list[list[Any]], longest: int) -> list[tuple[int, list[Any]]]:
    """The rows to write, each with its first event's place among `pending`: an event that
    shares every value but its own (`_OWN`) with the one before joins that one's run, of
    at most `longest` events."""
    rows: list[tuple[int, list[Any]]] = []
    last: list[Any] = []
    last_shared: Any = None
    for offset, event in enumerate(pending):
        shared = _shared(event)
        # Compared by identity first, value by value.
        if shared == last_shared and len(last[_RUN] or ()) < longest - 1:
            run = last[_RUN]
            if run is None:
                run = last[_RUN] = []
            run.append([event[_ID], event[_RESOURCE], event[_DATA]])
            continue
        last, last_shared = [*event, None], shared
        rows.append((offset, last))
    return rows


def _convert_times(dialect: Dialect, pending: list[list[Any]]) -> None:
    """Each event's time as the engine takes it: as SQLAlchemy binds it (SQLite: its text
    form), else in ISO 8601 (PostgreSQL casts it). A transaction's events share their
    time: it is converted once."""
    convert: Callable[[datetime], Any] | None = events.c.at.type.dialect_impl(
        dialect
    ).bind_processor(dialect)
    write = convert if convert is not None else datetime.isoformat
    at: Any = None
    at_text: Any = None
    for event in pending:
        if event[_AT] is not at:
            at = event[_AT]
            at_text = write(at)
        event[_AT] = at_text


def _check_closely(rows: Sequence[tuple[int, list[Any]]], request_id: int | None) -> None:
    """`storage.limits`' close look at every value: raises `ValueRefused` for a value no
    engine may store."""
    by_column = []
    for _offset, row in rows:
        event = dict(zip(FIELDS, row, strict=False))
        by_column.append({**event, "run": row[_RUN], "request_id": request_id})
        for event_id, resource_id, data in row[_RUN] or ():
            by_column.append({**event, "id": event_id, "resource_id": resource_id, "data": data})
    check_parameters(events, by_column)


#: Each limited column's index in an event's values and the most characters an ASCII
#: value of it may have (`storage.limits`).
_LIMITS = table_limits(events)
_SIZED = [
    (i, _LIMITS[name][2])
    for i, name in enumerate(FIELDS)
    if i not in (_AT, _DATA, _CHANGED) and name != "resource_version"
]
_ID_LIMIT, _RESOURCE_LIMIT = _LIMITS["id"][2], _LIMITS["resource_id"][2]


def _plainly_sized(rows: list[tuple[int, list[Any]]]) -> bool:
    """Whether each event's limited values are plainly within their columns' limits (a
    value that is the very object the previous row had is not looked at again)."""
    previous: list[Any] | None = None
    for _offset, row in rows:
        for index, limit in _SIZED:
            value = row[index]
            if previous is not None and previous[index] is value:
                continue
            if not plainly_storable(value, limit):
                return False
        for event_id, resource_id, _data in row[_RUN] or ():
            if not (
                plainly_storable(event_id, _ID_LIMIT)
                and plainly_storable(resource_id, _RESOURCE_LIMIT)
            ):
                return False
        previous = row
    return True
