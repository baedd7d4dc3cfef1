"""Schemathesis against /api/v1/openapi.json, on SQLite and PostgreSQL: no generated
request (valid or not) gets a 5xx or an answer the document does not describe."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from scimitar.storage.database import Database
from tests.conftest import ENGINES, empty_postgresql
from tests.edge.api_fuzz import fuzz_admin_api
from tests.faces.admin.helpers import Site, make_site

#: Per operation and mode (valid, invalid): ~450 requests per engine, under a minute.
EXAMPLES = 5


@pytest.fixture(params=ENGINES)
def fuzzed_site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    if request.param == "sqlite":
        path = tmp_path / "fuzz.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_url")
    db = Database(url)
    site = make_site(db)
    with site.client:
        yield site
    db.dispose()
    if request.param != "sqlite":
        empty_postgresql(url)


def test_admin_api_answers_conform_to_its_openapi_document(fuzzed_site: Site) -> None:
    """Generated requests for every operation: 0 × 5xx, every answer as documented."""
    tally = fuzz_admin_api(fuzzed_site.client.app, fuzzed_site.token, EXAMPLES, seed=12)
    assert tally.requests > 300
    assert not [status for status in tally.statuses if status >= 500], tally.statuses
    assert not tally.failures, sorted(tally.failures)
