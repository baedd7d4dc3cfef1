"""A real Scimitar app on a real database, and a replayer for the IdP fixtures."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.testclient import TestClient

from scimitar.config import Settings
from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import organizations, people
from scimitar.domain.identity import keys
from scimitar.domain.models import Org
from scimitar.faces.app import create_app
from scimitar.storage.database import Database

FIXTURES = Path(__file__).parents[2] / "fixtures" / "idp"
PUBLIC_URL = "https://scim.example.test"


@dataclass
class Scim:
    """An org with a SCIM key, and an HTTP client for its SCIM API."""

    client: TestClient
    db: Database
    org: Org
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def request(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        sent = {**self.auth, **headers}
        if body is not None:
            sent.setdefault("Content-Type", "application/scim+json")
        content = json.dumps(body) if body is not None else None
        return self.client.request(method, "/scim" + path, content=content, headers=sent)

    def tx(self) -> Any:
        return self.db.write()


def make_org(db: Database, slug: str = "acme", domains: tuple[str, ...] = ()) -> tuple[Org, str]:
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        org = organizations.create_org(
            tx,
            name=slug.title(),
            slug=slug,
            domains=domains,
            owner_email=f"owner@{domains[0] if domains else 'example.com'}",
        )
        owner = people.find_member(tx, org, f"owner@{domains[0] if domains else 'example.com'}")
        assert owner is not None
        doc = people.document(owner)
        doc["name"] = {"givenName": "Olivia", "familyName": "Owner"}
        doc["displayName"] = "Olivia Owner"
        people.update_member(tx, org, owner, doc)
        key = keys.generate_scim_key(tx, org)
    return org, key


def start(db_url: str, **settings: Any) -> tuple[TestClient, Database]:
    db = Database(db_url)
    app = create_app(Settings(database_url=db_url, public_url=PUBLIC_URL, **settings), db=db)
    return TestClient(app, raise_server_exceptions=True), db


@contextmanager
def live_server(db: Database, **settings: Any) -> Iterator[str]:
    """A real uvicorn server on a free loopback port; yields its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    app = create_app(Settings(database_url=db.url, public_url=base, **settings), db=db)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# Fixture replay


_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def substitute(value: Any, variables: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: variables[m.group(1)], value)
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if isinstance(value, dict):
        return {substitute(k, variables): substitute(v, variables) for k, v in value.items()}
    return value


_MISSING = object()


def lookup(document: Any, path: str) -> Any:
    segments: list[str] = []
    rest = path
    while rest:
        if rest.startswith("urn:"):
            last_colon = rest.rfind(":")
            dot = rest.find(".", last_colon)
            segment, rest = (rest, "") if dot < 0 else (rest[:dot], rest[dot + 1 :])
        else:
            segment, _, rest = rest.partition(".")
        segments.append(segment)
    current = document
    for segment in segments:
        if isinstance(current, list) and segment.isdigit() and int(segment) < len(current):
            current = current[int(segment)]
        elif isinstance(current, dict) and segment in current:
            current = current[segment]
        else:
            return _MISSING
    return current


def _contains(actual: Any, wanted: str) -> bool:
    if not isinstance(actual, list):
        return False
    return any(
        item == wanted or (isinstance(item, dict) and item.get("value") == wanted)
        for item in actual
    )


def check(actual: Any, expected: Any) -> str | None:
    """None when `actual` satisfies `expected` (a value or a marker), else why not."""
    empty = actual is _MISSING or actual in (None, "", [], {})
    if isinstance(expected, str) and expected.startswith("<") and expected.endswith(">"):
        marker, _, arg = expected[1:-1].partition(":")
        ok = {
            "nonempty": lambda: not empty,
            "integer": lambda: isinstance(actual, int) and not isinstance(actual, bool),
            "absent": lambda: actual is _MISSING,
            "empty": lambda: empty,
            "null": lambda: actual is _MISSING or actual is None,
            "len": lambda: isinstance(actual, list) and len(actual) == int(arg),
            "contains": lambda: _contains(actual, arg),
            "not-contains": lambda: not _contains(actual, arg),
            "not": lambda: actual != arg,
        }.get(marker)
        if ok is not None:
            return None if ok() else f"expected {expected}, got {actual!r}"
    if actual is _MISSING:
        return f"expected {expected!r}, but it is absent"
    return None if actual == expected else f"expected {expected!r}, got {actual!r}"


def replay(scim: Scim, flow: dict[str, Any]) -> list[str]:
    """Run a fixture flow; returns the list of failures (empty when the server passes)."""
    variables: dict[str, str] = dict(flow.get("variables", {}))
    failures: list[str] = []
    for step in flow["steps"]:
        req = step["request"]
        headers = substitute(req.get("headers") or {}, variables)
        if step.get("auth", True):
            headers = {**headers, **scim.auth}
        content: bytes | None = None
        if "rawBody" in req:
            content = substitute(req["rawBody"], variables).encode()
        elif req.get("body") is not None:
            content = json.dumps(substitute(req["body"], variables)).encode()
        if content is not None and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/scim+json"
        path = substitute(req["path"], variables)
        response = scim.client.request(
            req["method"], "/scim" + path, content=content, headers=headers
        )
        expect = substitute(step.get("expect", {}), variables)
        name = step["name"]
        statuses = expect.get("status")
        if statuses is not None:
            allowed = statuses if isinstance(statuses, list) else [statuses]
            if response.status_code not in allowed:
                failures.append(
                    f"{name}: status {response.status_code} not in {allowed}: {response.text[:300]}"
                )
                continue
        if response.status_code >= 500:
            failures.append(f"{name}: server error {response.status_code}")
            continue
        body: Any = response.json() if response.content else None
        if response.content:
            ctype = response.headers.get("content-type", "")
            if not ctype.startswith("application/scim+json"):
                failures.append(f"{name}: content-type {ctype}")
        for assertions in [expect.get("json", {}), *expect.get("jsonAll", [])]:
            for path_, wanted in assertions.items():
                problem = check(lookup(body, path_), wanted)
                if problem:
                    failures.append(f"{name}: {path_}: {problem}")
        for text in expect.get("bodyContains", []):
            if text not in response.text:
                failures.append(f"{name}: body lacks {text!r}")
        for text in expect.get("bodyNotContains", []):
            if text in response.text:
                failures.append(f"{name}: body has {text!r}")
        for var, path_ in (step.get("save") or {}).items():
            value = lookup(body, path_)
            if value is _MISSING:
                failures.append(f"{name}: cannot save {var} from {path_}")
            else:
                variables[var] = str(value)
    return failures
