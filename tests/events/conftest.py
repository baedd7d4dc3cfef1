from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.scim.harness import Scim, make_org, start


@pytest.fixture
def scim(db_url: str) -> Iterator[Scim]:
    """The SCIM API of a fresh org (owner owner@example.com), on SQLite and PostgreSQL."""
    client, db = start(db_url)
    with client:
        org, key = make_org(db)
        yield Scim(client, db, org, key)
    db.dispose()
