"""Which database constraint a write broke decides the error the client sees."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from scimitar.domain.context import Tx
from scimitar.domain.directory.people import _violates_one_owner
from scimitar.storage.tables import members
from tests.domain.helpers import make_org


def _row(org_id: str, user_name: str, role: str, tx: Tx) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "org_id": org_id,
        "user_name": user_name,
        "user_name_key": user_name,
        "active": True,
        "org_role": role,
        "source": "scim",
        "attributes": {"userName": user_name},
        "version": 1,
        "created": tx.now,
        "last_modified": tx.now,
    }


def _violation(tx: Tx, row: dict[str, object]) -> IntegrityError:
    with pytest.raises(IntegrityError) as caught, tx.conn.begin_nested():
        tx.conn.execute(insert(members).values(**row))
    return caught.value


def test_second_owner_is_told_apart_from_a_taken_user_name(tx: Tx) -> None:
    """A second Owner and a duplicate userName are different violations, even when the
    userName contains the word "owner"."""
    org = make_org(tx)
    second_owner = _violation(tx, _row(org.id, "joe.owner@example.com", "Owner", tx))
    assert _violates_one_owner(second_owner)
    tx.conn.execute(insert(members).values(**_row(org.id, "joe.owner@example.com", "Member", tx)))
    duplicate = _violation(tx, _row(org.id, "joe.owner@example.com", "Member", tx))
    assert not _violates_one_owner(duplicate)
