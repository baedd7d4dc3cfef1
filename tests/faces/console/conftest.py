from __future__ import annotations

from collections.abc import Iterator

import pytest

from scimitar.storage.database import Database
from tests.faces.admin.helpers import Site, make_site


@pytest.fixture
def site(db: Database) -> Iterator[Site]:
    """Two orgs on a real app, on SQLite and PostgreSQL."""
    made = make_site(db)
    with made.client:
        yield made
