"""A real Scimitar (uvicorn on a loopback port, or the app through httpx's ASGI transport)
with an org, its admin API token and SCIM key, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from scimitar.client import Client
from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.identity import keys
from scimitar.domain.models import Org
from scimitar.storage.database import Database
from tests.faces.scim.harness import live_server, make_org

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@dataclass
class Live:
    base: str
    db: Database
    org: Org
    token: str
    scim_key: str

    def client(self, **options: object) -> Client:
        return Client(self.base, self.token, **options)  # type: ignore[arg-type]

    def add_user(self, user_name: str) -> str:
        """A member pushed over SCIM, as an IdP would; returns its id."""
        answer = httpx.post(
            f"{self.base}/scim/Users",
            json={"schemas": [USER], "userName": user_name},
            headers={"Authorization": f"Bearer {self.scim_key}"},
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])


def org_token(db: Database, org: Org) -> str:
    with db.write() as conn:
        token, _ = keys.create_api_token(Tx(conn, CLI_ACTOR), org, "client tests")
    return token


@pytest.fixture
def live(db: Database) -> Iterator[Live]:
    org, scim_key = make_org(db)
    with live_server(db) as base:
        yield Live(base, db, org, org_token(db, org), scim_key)
