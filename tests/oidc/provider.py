"""A real OpenID provider for the SSO tests: npm's `oidc-provider` (pinned in
tests/oidc/package.json, installed by scripts/test) run by Node as a subprocess on a free
loopback port, with test clients, accounts and signing keys chosen by the test."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from joserfc.jwk import RSAKey

HERE = Path(__file__).parent
SCRIPT = HERE / "provider.mjs"
CLIENT_ID = "scimitar"
CLIENT_SECRET = "test-client-secret-0123456789"
OTHER_CLIENT_ID = "another-app"
OTHER_REDIRECT = "http://127.0.0.1:9/elsewhere/callback"


def unavailable(reason: str) -> None:
    # CI must run the SSO tests: there a missing Node or oidc-provider is a failure.
    if os.environ.get("CI") == "true":
        pytest.fail(f"SSO tests cannot run: {reason}")
    pytest.skip(f"SSO tests cannot run: {reason}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def signing_key(kid: str) -> dict[str, Any]:
    key = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})
    return key.as_dict(private=True)


@dataclass
class IdP:
    """How to start the provider; `start()` runs it until the context ends."""

    redirect_uris: list[str]
    accounts: dict[str, dict[str, Any]]
    port: int = field(default_factory=free_port)
    issuer: str = ""
    keys: list[dict[str, Any]] = field(default_factory=lambda: [signing_key("key-1")])
    id_token_ttl: int = 3600

    def __post_init__(self) -> None:
        self.issuer = self.issuer or f"http://127.0.0.1:{self.port}"

    def config(self) -> dict[str, Any]:
        client = {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": self.redirect_uris or [OTHER_REDIRECT],
            "response_types": ["code"],
            "grant_types": ["authorization_code"],
            "token_endpoint_auth_method": "client_secret_basic",
        }
        other = {
            **client,
            "client_id": OTHER_CLIENT_ID,
            "redirect_uris": [OTHER_REDIRECT],
        }
        return {
            "issuer": self.issuer,
            "port": self.port,
            "jwks": {"keys": self.keys},
            "clients": [client, other],
            "accounts": self.accounts,
            "idTokenTTL": self.id_token_ttl,
        }

    @contextmanager
    def start(self) -> Iterator[IdP]:
        self.restart()
        try:
            yield self
        finally:
            self.stop()

    def restart(self) -> None:
        """Run the provider (again, after `stop`)."""
        node = shutil.which("node")
        if node is None:
            unavailable("node is not installed")
        if not (HERE / "node_modules" / "oidc-provider").is_dir():
            unavailable("oidc-provider is not installed (scripts/test runs npm ci in tests/oidc)")
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
            json.dump(self.config(), file)
        self._process = subprocess.Popen(
            [str(node), str(SCRIPT), file.name],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert self._process.stdout is not None
            ready = self._process.stdout.readline()
        finally:
            os.unlink(file.name)
        if not ready.startswith("ready "):
            self.stop()
            raise RuntimeError("the OpenID provider did not start")

    def stop(self) -> None:
        process = getattr(self, "_process", None)
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(timeout=10)
        if process is not None and process.stdout is not None:
            process.stdout.close()


def sign_in_at_idp(authorization_url: str, login: str, stop_at: str) -> str:
    """Go through the provider's own login page (devInteractions) as `login`; returns the
    URL the provider sends the browser back to (starting with `stop_at`)."""
    with httpx.Client(timeout=10) as browser:
        url = authorization_url
        for _ in range(10):
            response = browser.get(url)
            if response.is_redirect:
                url = urljoin(url, response.headers["location"])
                if url.startswith(stop_at):
                    return url
                continue
            form = re.search(r'<form[^>]*action="([^"]+)" method="post">', response.text)
            assert form, response.text
            fields = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', response.text))
            posted = browser.post(
                urljoin(url, form.group(1)), data={**fields, "login": login, "password": "any"}
            )
            assert posted.is_redirect, posted.text
            url = urljoin(url, posted.headers["location"])
            if url.startswith(stop_at):
                return url
    raise AssertionError("the provider did not send the browser back")


def mint_id_token(idp: IdP, login: str, *, nonce: str = "test-nonce") -> str:
    """An ID token the provider issues to `another-app` for `login` (a real authorization
    code flow with PKCE, at the provider's own endpoints)."""
    from authlib.oauth2.rfc7636 import create_s256_code_challenge

    verifier = "v" * 64
    query = {
        "response_type": "code",
        "client_id": OTHER_CLIENT_ID,
        "redirect_uri": OTHER_REDIRECT,
        "scope": "openid email",
        "state": "s",
        "nonce": nonce,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    start = str(httpx.URL(idp.issuer + "/auth", params=query))
    back = sign_in_at_idp(start, login, OTHER_REDIRECT)
    code = parse_qs(urlsplit(back).query)["code"][0]
    answer = httpx.post(
        idp.issuer + "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": OTHER_REDIRECT,
            "code_verifier": verifier,
        },
        auth=(OTHER_CLIENT_ID, CLIENT_SECRET),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id_token"])
