"""What no database stores is refused before a statement runs, alike on both engines; the
limits are the tables' own."""

from __future__ import annotations

import pytest
from sqlalchemy import String, insert, select

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import people
from scimitar.storage.database import Database
from scimitar.storage.limits import INDEXED_BYTES, ValueRefused, byte_limit, storable, text_limit
from scimitar.storage.tables import groups, member_emails, metadata, orgs
from scimitar.storage.tables import members as members_table
from tests.faces.scim.harness import make_org


def test_limits_are_read_from_the_tables() -> None:
    """Every bounded text column's limit is its declared length (no second list to drift)."""
    for table in metadata.sorted_tables:
        for column in table.c:
            expected = column.type.length if isinstance(column.type, String) else None
            assert text_limit(column) == expected
    assert text_limit(member_emails.c.type) == 64


@pytest.mark.parametrize("bad", ["a\x00b", "a\ud800b", "\udfff"])
def test_refused_characters_never_reach_the_database(db: Database, bad: str) -> None:
    """NUL and lone surrogates in a document, a column or a lookup → ValueRefused, no row."""
    org, _ = make_org(db)
    with pytest.raises(ValueRefused) as refused, db.write() as conn:
        people.create_member(Tx(conn, CLI_ACTOR), org, {"userName": "u@example.com", "title": bad})
    assert refused.value.name == "title" and refused.value.writing
    with pytest.raises(ValueRefused) as looked_up, db.read() as conn:
        conn.execute(select(orgs).where(orgs.c.slug == bad))
    assert not looked_up.value.writing
    with db.read() as conn:
        assert people.find_member(Tx(conn, CLI_ACTOR), org, "u@example.com") is None


def test_a_value_longer_than_its_column_is_refused(db: Database) -> None:
    """Over a column's length → ValueRefused naming the API attribute, on both engines."""
    org, _ = make_org(db)
    document = {
        "userName": "u@example.com",
        "emails": [{"value": "u@example.com", "type": "t" * 65}],
    }
    with pytest.raises(ValueRefused) as refused, db.write() as conn:
        people.create_member(Tx(conn, CLI_ACTOR), org, document)
    assert refused.value.name == "emails.type"
    assert "longer than 64" in refused.value.detail
    with pytest.raises(ValueRefused), db.write() as conn:
        conn.execute(insert(orgs).values(id="x" * 37))


def test_storable_replaces_what_cannot_be_stored() -> None:
    """Logs keep refused requests: refused characters become U+FFFD, cut to the limit."""
    assert storable("a\x00b\ud800", 3) == "a\ufffdb"


def test_indexed_text_is_limited_in_bytes_too() -> None:
    """Columns an index covers hold at most INDEXED_BYTES of UTF-8 (PostgreSQL's btree)."""
    assert byte_limit(members_table.c.user_name_key) == INDEXED_BYTES
    assert byte_limit(groups.c.display_name_key) == INDEXED_BYTES
    assert byte_limit(members_table.c.user_name) is None  # not indexed: characters only
    assert byte_limit(member_emails.c.type) is None
