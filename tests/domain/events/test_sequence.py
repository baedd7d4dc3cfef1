"""Sequence numbers: gap-free and unique per org, also under concurrent writers."""

from __future__ import annotations

import threading

from scimitar.domain.directory import group_store, people
from scimitar.domain.models import GroupKind
from scimitar.storage.database import Database
from tests.domain.events.helpers import feed_of, write
from tests.domain.helpers import make_member, make_org, user_doc

THREADS = 8
WRITES = 15


def test_concurrent_writers_leave_no_gap_and_no_duplicate(db: Database) -> None:
    """Eight threads writing to one org at once: seqs are exactly 1..N, ids unique."""
    with write(db) as tx:
        org = make_org(tx)
        group = group_store.insert_group(tx, org, GroupKind.CUSTOM, "Everyone")
    errors: list[BaseException] = []

    def writer(thread: int) -> None:
        try:
            for i in range(WRITES):
                with write(db) as tx:
                    member = people.create_member(tx, org, user_doc(f"u{thread}-{i}@example.com"))
                    group_store.add_members(tx, org, group, [member.id])
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    found = feed_of(db, org)
    assert [e.seq for e in found] == list(range(1, len(found) + 1))
    assert len(found) == 3 + THREADS * WRITES * 2
    assert len({e.id for e in found}) == len(found)


def test_orgs_number_their_events_independently(db: Database) -> None:
    """Each org has its own sequence: a second org's feed starts at 1 too."""
    with write(db) as tx:
        acme = make_org(tx)
        make_member(tx, acme, "a@example.com")
        globex = make_org(tx, "globex")
    assert [e.seq for e in feed_of(db, acme)] == [1, 2, 3]
    assert [e.seq for e in feed_of(db, globex)] == [1, 2]
