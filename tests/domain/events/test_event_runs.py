"""Event runs: a transaction's events that differ only in id, resource and data are stored as
one row (`storage.event_rows`) and read back as the events they are, wherever events are read:
the feed (from any cursor, with a limit, by type), a member's history, webhook deliveries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from scimitar.config import Settings
from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import group_store, people
from scimitar.domain.events import deliveries, feed, webhooks
from scimitar.domain.events.addresses import AllowList
from scimitar.domain.models import GroupKind, Org
from scimitar.storage.database import Database
from scimitar.storage.event_rows import MAX_RUN
from scimitar.storage.limits import ValueRefused
from scimitar.storage.tables import events, webhook_endpoints
from tests.domain.events.helpers import feed_of, last, sealer, write
from tests.domain.helpers import make_member, make_org

REMOVED = "group.member_removed"


def _deactivated_out_of_groups(db: Database, count: int) -> tuple[Org, str, list[str]]:
    """An org whose member ada was deactivated out of `count` groups (and bob, in two of
    them, was not): ada's id and the groups' ids in the order she left them."""
    with write(db) as tx:
        org = make_org(tx)
        ada = make_member(tx, org, "ada@acme.example.com")
        bob = make_member(tx, org, "bob@acme.example.com")
        group_ids = []
        for i in range(count):
            group = group_store.insert_group(tx, org, GroupKind.CUSTOM, f"Team {i}")
            group_store.add_members(tx, org, group, [ada.id, bob.id] if i < 2 else [ada.id])
            group_ids.append(group.id)
    with write(db) as tx:
        people.set_active(tx, org, people.get_member(tx, org, ada.id), False)
    return org, ada.id, group_ids


def _rows(db: Database, org: Org, type: str) -> int:
    with db.read() as conn:
        query = select(func.count()).select_from(events)
        return int(
            conn.execute(query.where(events.c.org_id == org.id, events.c.type == type)).scalar_one()
        )


def test_a_deactivation_out_of_five_groups_is_one_row_read_as_five_events(db: Database) -> None:
    org, ada, group_ids = _deactivated_out_of_groups(db, 5)
    assert _rows(db, org, REMOVED) == 1
    removed = [e for e in feed_of(db, org) if e.type == REMOVED]
    assert [e.resource_id for e in removed] == group_ids
    assert [e.data["group"]["id"] for e in removed] == group_ids
    assert [e.data["group"]["displayName"] for e in removed] == [f"Team {i}" for i in range(5)]
    assert {e.member_id for e in removed} == {ada} and {e.data["member_id"] for e in removed} == {
        ada
    }
    first = removed[0].seq
    assert [e.seq for e in removed] == list(range(first, first + 5))
    assert len({e.id for e in removed}) == 5
    assert {e.row_id for e in removed} == {removed[0].id}
    # Every event keeps the shared values: time, actor, resource type, no version.
    assert len({(e.at, str(e.actor), e.resource_type, e.resource_version) for e in removed}) == 1
    # The events after the run are numbered on from its last one.
    with write(db) as tx:
        make_member(tx, org, "carol@acme.example.com")
    after = feed_of(db, org, after=first + 4)
    assert after and after[0].seq == first + 5 and after[0].type != REMOVED
    assert last(db, org) == feed_of(db, org)[-1].seq


def test_the_feed_reads_a_run_from_any_cursor_with_any_limit_and_type(db: Database) -> None:
    org, ada, group_ids = _deactivated_out_of_groups(db, 6)
    with write(db) as tx:
        make_member(tx, org, "carol@acme.example.com")
    everything = feed_of(db, org)
    removed = [e for e in everything if e.type == REMOVED]
    first = removed[0].seq
    with db.read() as conn:
        tx = Tx(conn, CLI_ACTOR)
        # From inside the run: the rest of it, then what follows.
        middle = feed.read_feed(tx, org.id, after=first + 2, limit=1000)
        assert [e.seq for e in middle] == [e.seq for e in everything if e.seq > first + 2]
        assert [e.resource_id for e in middle[:3]] == group_ids[3:]
        # A limit that ends inside the run, then the next page from there.
        page = feed.read_feed(tx, org.id, after=first - 1, limit=2)
        assert [e.resource_id for e in page] == group_ids[:2]
        page = feed.read_feed(tx, org.id, after=page[-1].seq, limit=3)
        assert [e.resource_id for e in page] == group_ids[2:5]
        # By type, from inside the run and from before it.
        typed = feed.read_feed(tx, org.id, after=first + 4, types=[REMOVED], limit=1000)
        assert [e.resource_id for e in typed] == group_ids[5:]
        typed = feed.read_feed(tx, org.id, after=first + 4, types=["member.*"], limit=1000)
        assert [e.type for e in typed] == ["member.created"]
        assert feed.read_feed(tx, org.id, types=["group.*"], limit=1000) == [
            e for e in everything if e.type.startswith("group.")
        ]
        # A member's history holds each of the run's events.
        history = feed.member_history(tx, org, ada)
        assert [e.resource_id for e in history if e.type == REMOVED] == group_ids


def test_each_event_of_a_run_gets_its_own_webhook_delivery(db: Database) -> None:
    org, _ada, group_ids = _deactivated_out_of_groups(db, 4)
    seal = sealer(db)
    with write(db) as tx:
        endpoint, _ = webhooks.create_endpoint(
            tx,
            org,
            "http://127.0.0.1:9/hook",
            [REMOVED],
            sealer=seal,
            allow=AllowList.parse("127.0.0.1"),
        )
    # Only events after the endpoint's creation are delivered: rewind it to the start.
    with write(db) as tx:
        tx.conn.execute(
            webhook_endpoints.update()
            .where(webhook_endpoints.c.id == endpoint.id)
            .values(cursor_seq=0)
        )
        deliveries.fan_out(tx)
    removed = [e for e in feed_of(db, org) if e.type == REMOVED]
    with write(db) as tx:
        listed = webhooks.list_deliveries(tx, org, endpoint)
        jobs = deliveries.claim(tx, limit=10, lease=timedelta(minutes=1))
    # Listed newest first, each naming its own event (not the row that holds it).
    assert [(d.event_id, d.event_seq) for d in reversed(listed)] == [(e.id, e.seq) for e in removed]
    bodies = sorted((job.event for job in jobs), key=lambda body: body["seq"])
    assert [body["id"] for body in bodies] == [e.id for e in removed]
    assert [body["resource"]["id"] for body in bodies] == group_ids


def test_events_that_differ_in_more_than_id_resource_and_data_are_rows_of_their_own(
    db: Database,
) -> None:
    with write(db) as tx:
        org = make_org(tx)
        for member_id in ("m-1", "m-2"):  # another member: another row
            feed.emit(tx, org.id, "x.done", "thing", "t-1", data={}, member_id=member_id)
        feed.emit(tx, org.id, "x.done", "thing", "t-2", data={}, member_id="m-2", version=3)
        feed.emit(tx, org.id, "x.other", "thing", "t-3", data={}, member_id="m-2", version=3)
    assert _rows(db, org, "x.done") == 3 and _rows(db, org, "x.other") == 1


@pytest.mark.parametrize("where", ["first", "later"])
def test_a_value_no_engine_stores_is_refused_and_nothing_is_written(
    db: Database, where: str
) -> None:
    """NUL in an event's data, or a resource id longer than its column, in a run's first
    event or a later one: ValueRefused before anything is written, on both engines."""
    with write(db) as tx:
        org = make_org(tx)
    before = last(db, org)
    for bad_data, bad_resource in (({"name": "a\x00b"}, "r"), ({}, "r" * 65)):
        items = [("r-1", "m-1", {}), ("r-2", "m-1", {})]
        items[0 if where == "first" else 1] = (bad_resource, "m-1", bad_data)
        with pytest.raises(ValueRefused), write(db) as tx:
            feed.emit_each(tx, org.id, REMOVED, "group", items)
        assert last(db, org) == before
    with write(db) as tx:  # the same events, storable, are written
        feed.emit_each(tx, org.id, REMOVED, "group", [("r-1", "m-1", {}), ("r-2", "m-1", {})])
    assert last(db, org) == before + 2 and _rows(db, org, REMOVED) == 1


def test_a_run_holds_at_most_max_run_events(db: Database) -> None:
    """More events than a row may hold: rows of MAX_RUN, read back as one sequence."""
    with write(db) as tx:
        org = make_org(tx)
    count = MAX_RUN + 44
    items = [(f"g-{i}", "m-1", {"i": i}) for i in range(count)]
    with write(db) as tx:
        feed.emit_each(tx, org.id, REMOVED, "group", items)
    assert _rows(db, org, REMOVED) == 2
    found = [e for e in feed_of(db, org) if e.type == REMOVED]
    assert [e.data["i"] for e in found] == list(range(count))
    assert [e.seq for e in found] == list(range(found[0].seq, found[0].seq + count))
    assert (
        len({e.row_id for e in found[:MAX_RUN]}) == 1 and found[MAX_RUN].row_id == found[MAX_RUN].id
    )
    rest = feed_of(db, org, after=found[MAX_RUN + 1].seq)
    assert [e.data["i"] for e in rest] == list(range(MAX_RUN + 2, count))


def test_a_document_that_is_no_json_is_an_error_and_nothing_is_written(db: Database) -> None:
    """A value JSON cannot hold (an integer beyond 64 bits) passes the close look (it holds
    no refused character) but is still an error: nothing is written, the feed unchanged."""
    with write(db) as tx:
        org = make_org(tx)
    before = feed_of(db, org)
    items = [("r-1", "m-1", {}), ("r-2", "m-1", {"n": 2**70})]
    with pytest.raises(TypeError), write(db) as tx:
        feed.emit_each(tx, org.id, REMOVED, "group", items)
    assert feed_of(db, org) == before and last(db, org) == before[-1].seq


def test_with_runs_off_each_event_is_a_row_of_its_own(db: Database) -> None:
    """`SCIMITAR_EVENT_RUNS=0` (while processes of a release before 0011 may still read the
    feed): the same events, one row each."""
    alone = Database(db.url, event_runs=False)
    try:
        with write(alone) as tx:
            org = make_org(tx)
            feed.emit_each(tx, org.id, REMOVED, "group", [("r-1", "m-1", {}), ("r-2", "m-1", {})])
        assert _rows(alone, org, REMOVED) == 2
        found = [e for e in feed_of(alone, org) if e.type == REMOVED]
        assert [e.resource_id for e in found] == ["r-1", "r-2"]
        assert [e.row_id for e in found] == [e.id for e in found]
    finally:
        alone.dispose()
    assert Settings.from_env().event_runs
    for off in ("0", "off", "false"):
        with pytest.MonkeyPatch.context() as env:
            env.setenv("SCIMITAR_EVENT_RUNS", off)
            assert not Settings.from_env().event_runs
            assert Settings.from_env().to_env()["SCIMITAR_EVENT_RUNS"] == "0"
