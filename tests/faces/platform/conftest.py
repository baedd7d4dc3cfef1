from __future__ import annotations

from collections.abc import Iterator

import pytest

from scimitar.storage.database import Database
from tests.faces.admin.helpers import make_site
from tests.faces.platform.helpers import Platform, operator_token


@pytest.fixture
def platform(db: Database) -> Iterator[Platform]:
    """Orgs acme and globex on a real app, and an operator token, on SQLite and PostgreSQL."""
    site = make_site(db)
    with site.client:
        yield Platform(site, operator_token(db))
