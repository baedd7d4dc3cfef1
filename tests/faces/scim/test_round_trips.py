"""Round trips to PostgreSQL per SCIM request type (and the host's access check, which must
cost no more than a lookup), counted on the wire by a proxy.

On a real network every round trip costs 0.3-1 ms before any work, so the count per
request type is held to a bound here; a change that adds one fails this test and says
what it sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from scimitar.config import Settings
from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import structure
from scimitar.domain.identity import keys
from scimitar.faces.app import create_app
from scimitar.storage.database import Database
from tests.faces.scim.harness import PUBLIC_URL, make_org
from tests.storage.wire_counter import WireCounter

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
#: Requests of each type before counting (psycopg prepares a statement on its 5th use).
WARM_UP = 6
COUNTED = 10

#: The most round trips each request type may take (measured: see docs/performance.md).
BOUNDS = {
    "userName eq lookup": 2,
    "GET by id": 2,
    "POST /Users": 3,
    "PUT /Users/{id}": 3,
    "PATCH active=false": 4,
    "PATCH group add one": 3,
    "access check, one": 2,
}


@dataclass
class Api:
    client: TestClient
    key: str
    token: str = ""

    def send(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.key}"}
        content = None
        if body is not None:
            headers["Content-Type"] = "application/scim+json"
            content = json.dumps(body)
        response = self.client.request(method, "/scim" + path, content=content, headers=headers)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None


@pytest.fixture
def wire(db_url: str) -> Iterator[tuple[WireCounter, Api]]:
    if not db_url.startswith("postgresql"):
        pytest.skip("round trips to a database server: PostgreSQL only")
    url = make_url(db_url)
    counter = WireCounter((url.host or "127.0.0.1", url.port or 5432))
    db = Database(counter.url(str(url.database), str(url.username or "postgres")))
    app = create_app(Settings(database_url=db.url, public_url=PUBLIC_URL), db=db)
    # Read requests' log entries are written by a background batch (one per 0.5 s, not per
    # request): stopped here so that its trips are not counted against a request.
    app.state.request_log.close()
    try:
        with TestClient(app) as client:
            org, key = make_org(db)
            with db.write() as conn:
                token, _ = keys.create_api_token(Tx(conn, CLI_ACTOR), org, "host")
                structure.create_project(Tx(conn, CLI_ACTOR), org, "Web")
            yield counter, Api(client, key, token)
    finally:
        db.dispose()
        counter.close()


def _user(n: int) -> dict[str, Any]:
    return {
        "schemas": [USER],
        "userName": f"user{n}@example.com",
        "name": {"givenName": "User", "familyName": str(n)},
        "emails": [{"value": f"user{n}@example.com", "type": "work", "primary": True}],
        "active": True,
    }


def _count(counter: WireCounter, request: Callable[[int], object], i: int) -> list[list[str]]:
    counter.reset()
    request(i)
    return counter.trips


def test_round_trips_per_request_type_stay_within_their_bounds(
    wire: tuple[WireCounter, Api],
) -> None:
    """Each SCIM request type takes at most its bound of round trips to PostgreSQL."""
    counter, api = wire
    total = WARM_UP + COUNTED
    users = [api.send("POST", "/Users", _user(n))["id"] for n in range(4 * total)]
    group = api.send("POST", "/Groups", {"displayName": "Everyone"})["id"]
    by_id, to_put, to_deactivate, to_add = (users[i * total : (i + 1) * total] for i in range(4))
    for member in to_deactivate:  # a leaver is usually in some group
        add = {"op": "add", "path": "members", "value": [{"value": member}]}
        api.send("PATCH", f"/Groups/{group}", {"schemas": [PATCH], "Operations": [add]})
    fresh = iter(range(10_000, 20_000))

    def put(i: int) -> None:  # a profile update: the userName stays (changing it costs one more)
        body = {**_user(total + i), "displayName": f"Renamed {i}"}
        api.send("PUT", f"/Users/{to_put[i]}", body)

    def deactivate(i: int) -> None:
        body = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
        api.send("PATCH", f"/Users/{to_deactivate[i]}", body)

    def add_member(i: int) -> None:
        add = {"op": "add", "path": "members", "value": [{"value": to_add[i]}]}
        api.send("PATCH", f"/Groups/{group}", {"schemas": [PATCH], "Operations": [add]})

    def check(i: int) -> None:
        body = {"checks": [{"member": f"user{i}@example.com", "project": "Web", "role": "Member"}]}
        headers = {"Authorization": f"Bearer {api.token}"}
        answer = api.client.post("/api/v1/access/check", json=body, headers=headers)
        assert answer.status_code == 200, answer.text

    requests: dict[str, Callable[[int], object]] = {
        "userName eq lookup": lambda i: api.send(
            "GET", f'/Users?filter=userName eq "user{i}@example.com"'
        ),
        "GET by id": lambda i: api.send("GET", f"/Users/{by_id[i]}"),
        "POST /Users": lambda i: api.send("POST", "/Users", _user(next(fresh))),
        "PUT /Users/{id}": put,
        "PATCH active=false": deactivate,
        "PATCH group add one": add_member,
        "access check, one": check,
    }
    measured: dict[str, tuple[float, int, list[list[str]]]] = {}
    for name, request in requests.items():
        for i in range(WARM_UP):
            request(i)
        counts = [_count(counter, request, i) for i in range(WARM_UP, total)]
        worst = max(counts, key=len)
        measured[name] = (sum(map(len, counts)) / len(counts), len(worst), worst)
    print()
    for name, (mean, most, worst) in measured.items():
        print(f"{name:22} mean {mean:5.1f}  max {most:3d}  {[''.join(t) for t in worst]}")
    over = {
        name: (most, worst) for name, (_, most, worst) in measured.items() if most > BOUNDS[name]
    }
    assert not over, f"round trips over their bounds {BOUNDS}: {over}"
