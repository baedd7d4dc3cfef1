"""A real Scimitar app on a real database, with the credentials an org admin uses:
admin API tokens, console sign-in, and a check of every answer against the OpenAPI document."""

from __future__ import annotations

import re
import select
import socket
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from starlette.testclient import TestClient

from scimitar.config import Settings
from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import people
from scimitar.domain.identity import credentials, keys
from scimitar.domain.models import Member, Org, OrgRole
from scimitar.faces.admin.endpoint import PREFIX
from scimitar.faces.admin.openapi import document
from scimitar.faces.admin.routes import ENDPOINTS
from scimitar.faces.app import create_app
from scimitar.storage.database import Database
from tests.faces.scim.harness import PUBLIC_URL, make_org

PASSWORD = "correct horse battery staple"
OPENAPI = document(PUBLIC_URL)
_REGISTRY = Registry().with_resource("urn:openapi", DRAFT202012.create_resource(OPENAPI))
_TEMPLATES = [
    (e.method, re.compile("^" + re.sub(r"{\w+}", "[^/]+", PREFIX + e.path) + "$"), e)
    for e in ENDPOINTS
]


def client_for(db: Database) -> TestClient:
    """An HTTPS client: the public URL is https, so the console's cookies are Secure."""
    app = create_app(Settings(database_url=db.url, public_url=PUBLIC_URL), db=db)
    return TestClient(app, base_url="https://testserver", raise_server_exceptions=True)


def schema_errors(method: str, path: str, status: int, body: Any) -> list[str]:
    """Where an answer departs from the OpenAPI document (status, and body schema)."""
    path = path.split("?")[0]
    found = [e for m, pattern, e in _TEMPLATES if m == method and pattern.match(path)]
    if not found:
        return [f"{method} {path} is not in the OpenAPI document"]
    operation = OPENAPI["paths"][found[0].path][method.lower()]
    response = operation["responses"].get(str(status))
    if response is None:
        return [f"{method} {path}: status {status} is not documented"]
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return [] if body is None else [f"{method} {path}: {status} should have no body"]
    validator = Draft202012Validator({"$ref": "urn:openapi" + schema["$ref"]}, registry=_REGISTRY)
    return [f"{method} {path}: {e.json_path}: {e.message}" for e in validator.iter_errors(body)]


@dataclass
class Api:
    """The admin API of one org, called with a credential; every answer is schema-checked."""

    client: TestClient
    headers: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, body: Any = None, *, expect: int) -> Any:
        response = self.client.request(method, PREFIX + path, json=body, headers=self.headers)
        assert response.status_code == expect, (method, path, response.text)
        payload = response.json() if response.content else None
        problems = schema_errors(method, PREFIX + path, response.status_code, payload)
        assert not problems, problems
        return payload

    def get(self, path: str, *, expect: int = 200) -> Any:
        return self.call("GET", path, expect=expect)

    def post(self, path: str, body: Any = None, *, expect: int = 201) -> Any:
        return self.call("POST", path, body, expect=expect)

    def patch(self, path: str, body: Any, *, expect: int = 200) -> Any:
        return self.call("PATCH", path, body, expect=expect)

    def delete(self, path: str, *, expect: int = 204) -> Any:
        return self.call("DELETE", path, expect=expect)


def api_token(db: Database, org: Org, name: str = "tests") -> str:
    with db.write() as conn:
        token, _ = keys.create_api_token(Tx(conn, CLI_ACTOR), org, name)
    return token


def add_member(
    db: Database,
    org: Org,
    email: str,
    *,
    role: OrgRole = OrgRole.MEMBER,
    password: str | None = None,
    display_name: str | None = None,
) -> Member:
    """A member as SCIM would create them, with an org role and, for admins, a password."""
    document: dict[str, Any] = {"userName": email, "emails": [{"value": email, "type": "work"}]}
    if display_name:
        document["displayName"] = display_name
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        member = people.create_member(tx, org, document, org_role=role)
        if password is not None:
            credentials.set_password(tx, org, member, password)
    return member


def set_owner_password(db: Database, org: Org, password: str = PASSWORD) -> Member:
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        owner = people.find_member(
            tx, org, f"owner@{org.allowed_domains[0] if org.allowed_domains else 'example.com'}"
        )
        assert owner is not None
        credentials.set_password(tx, org, owner, password)
    return owner


def sign_in_form_token(client: TestClient) -> str:
    page = client.get("/console/sign-in")
    found = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def sign_in(client: TestClient, slug: str, email: str, password: str = PASSWORD) -> Any:
    """Sign in through the real form; returns the answer (303 to the console on success)."""
    token = sign_in_form_token(client)
    return client.post(
        "/console/sign-in",
        data={"form_token": token, "org": slug, "email": email, "password": password},
        follow_redirects=False,
    )


def csrf_of(client: TestClient, page: str = "/console/scim") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(page).text)
    assert found, page
    return found.group(1)


@dataclass
class Site:
    """Org `acme` (owner owner@example.com, with a password) and org `globex`, each with a
    SCIM key; `api` calls acme's admin API with an acme token."""

    client: TestClient
    db: Database
    org: Org
    scim_key: str
    other: Org
    other_scim_key: str
    token: str
    owner: Member

    @property
    def api(self) -> Api:
        return Api(self.client, {"Authorization": f"Bearer {self.token}"})

    def scim(self, method: str, path: str, key: str | None = None, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {key or self.scim_key}"}
        return self.client.request(method, "/scim" + path, json=body, headers=headers)


def make_site(db: Database) -> Site:
    org, scim_key = make_org(db, "acme")
    other, other_key = make_org(db, "globex")
    owner = set_owner_password(db, org)
    client = client_for(db)
    return Site(client, db, org, scim_key, other, other_key, api_token(db, org), owner)


def raw_post(
    base: str,
    path: str,
    headers: dict[str, str],
    *,
    chunks: int = 0,
    chunk_size: int = 16_384,
) -> int:
    """POST over a plain socket; returns the status. With `chunks`, the body is streamed
    chunked, a chunk at a time, stopping as soon as the server answers; without, nothing of
    the (declared) body is sent at all."""
    host, _, port = base.removeprefix("http://").partition(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if chunks:
            lines.append("Transfer-Encoding: chunked")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        chunk = f"{chunk_size:x}\r\n".encode() + b"a" * chunk_size + b"\r\n"
        for _ in range(chunks):
            if select.select([sock], [], [], 0.01)[0]:
                break
            try:
                sock.sendall(chunk)
            except OSError:
                break
        else:
            if chunks:
                sock.sendall(b"0\r\n\r\n")
        reply = b""
        try:
            while b"\r\n" not in reply:
                got = sock.recv(4096)
                if not got:
                    break
                reply += got
        except ConnectionResetError:
            pass
    return int(reply.split(b" ", 2)[1])
