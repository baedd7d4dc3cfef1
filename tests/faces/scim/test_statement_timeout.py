"""A SCIM search stopped at the statement time limit is a 503 that says why, never a 500
or a hang; the server answers the next request as usual."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import insert
from starlette.testclient import TestClient

from scimitar.config import Settings
from scimitar.domain.context import new_id
from scimitar.faces.app import create_app
from scimitar.storage.database import Database
from scimitar.storage.tables import member_emails, members
from tests.faces.scim.harness import PUBLIC_URL, make_org
from tests.faces.scim.test_wire import assert_error

T0 = datetime(2024, 1, 1, tzinfo=UTC)
PEOPLE = 2000


def _seed(db: Database, org_id: str) -> None:
    rows, emails = [], []
    for n in range(PEOPLE):
        member_id, name = new_id(), f"u{n}@example.com"
        rows.append(
            {
                "id": member_id,
                "org_id": org_id,
                "user_name": name,
                "user_name_key": name,
                "active": True,
                "org_role": "Member",
                "source": "scim",
                "attributes": {"userName": name},
                "version": 1,
                "created": T0,
                "last_modified": T0,
            }
        )
        emails += [
            {
                "member_id": member_id,
                "org_id": org_id,
                "position": position,
                "value": f"{kind}{n}@example.com",
                "value_key": f"{kind}{n}@example.com",
                "type": kind,
                "primary": position == 0,
            }
            for position, kind in enumerate(("work", "home", "other"))
        ]
    with db.write() as conn:
        conn.execute(insert(members), rows)
        conn.execute(insert(member_emails), emails)


def test_a_search_past_the_time_limit_is_503_and_the_next_request_is_served(
    db_url: str,
) -> None:
    """The costliest filter the cost model admits, over 2 000 users, under a 5 ms limit."""
    setup = Database(db_url)  # no limit: the seeding itself takes longer than 5 ms
    org, key = make_org(setup)
    _seed(setup, org.id)
    setup.dispose()
    db = Database(db_url, statement_timeout_ms=5)
    app = create_app(Settings(database_url=db_url, public_url=PUBLIC_URL), db=db)
    with TestClient(app, raise_server_exceptions=False) as client:
        auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/scim+json"}
        slow = " or ".join(f'emails co "x{n}"' for n in range(120))  # matches no one
        body = json.dumps({"filter": slow})
        cut = client.post("/scim/Users/.search", content=body, headers=auth)
        detail = str(assert_error(cut, 503)["detail"])
        assert "time limit" in detail and "narrow the filter" in detail
        found = client.get('/scim/Users?filter=userName eq "u7@example.com"', headers=auth)
        assert found.status_code == 200, found.text
        assert found.json()["totalResults"] == 1
    db.dispose()
