"""ID token verification (OpenID Connect Core §3.1.3.7) on tokens a real provider minted:
npm's oidc-provider, driven through its own login page and token endpoint. No database."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

from scimitar.domain.errors import InvalidError
from scimitar.domain.identity.oidc import (
    OidcRefusal,
    Provider,
    check_url,
    discover,
    verify_id_token,
)
from tests.oidc.provider import OTHER_CLIENT_ID, IdP, mint_id_token, signing_key

ACCOUNTS = {"ada@example.com": {"email": "ada@example.com", "email_verified": True}}
KEY = signing_key("shared-key")


@pytest.fixture(scope="module")
def idp() -> Iterator[IdP]:
    with IdP([], ACCOUNTS, keys=[KEY]).start() as running:
        yield running


@pytest.fixture(scope="module")
def provider(idp: IdP) -> Provider:
    return discover(idp.issuer)


@pytest.fixture(scope="module")
def token(idp: IdP) -> str:
    return mint_id_token(idp, "ada@example.com", nonce="n-1")


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_a_good_token_passes(provider: Provider, token: str) -> None:
    """Signed by the provider's key, from its issuer, for this client, with our nonce."""
    claims = verify_id_token(provider, client_id=OTHER_CLIENT_ID, token=token, nonce="n-1")
    assert claims["email"] == "ada@example.com"


def test_wrong_audience(provider: Provider, token: str) -> None:
    """A token issued to another client is refused."""
    with pytest.raises(OidcRefusal, match="for another application"):
        verify_id_token(provider, client_id="scimitar", token=token, nonce="n-1")


def test_wrong_issuer(idp: IdP, provider: Provider) -> None:
    """A token from another issuer (same signing key) is refused."""
    with IdP([], ACCOUNTS, keys=[KEY], issuer="").start() as other:
        foreign = mint_id_token(other, "ada@example.com", nonce="n-1")
    assert _claims(foreign)["iss"] != provider.issuer
    with pytest.raises(OidcRefusal, match="from another issuer"):
        verify_id_token(provider, client_id=OTHER_CLIENT_ID, token=foreign, nonce="n-1")


def test_expired(provider: Provider, token: str) -> None:
    """Past `exp` plus the leeway, the token is refused."""
    expires = _claims(token)["exp"]
    assert isinstance(expires, int)
    with pytest.raises(OidcRefusal, match="has expired"):
        verify_id_token(
            provider, client_id=OTHER_CLIENT_ID, token=token, nonce="n-1", now=expires + 61
        )
    verify_id_token(provider, client_id=OTHER_CLIENT_ID, token=token, nonce="n-1", now=expires + 59)


def test_issued_in_the_future(provider: Provider, token: str) -> None:
    """An `iat` beyond the leeway (a wrong clock) is refused."""
    issued = _claims(token)["iat"]
    assert isinstance(issued, int)
    with pytest.raises(OidcRefusal, match="issued in the future"):
        verify_id_token(
            provider, client_id=OTHER_CLIENT_ID, token=token, nonce="n-1", now=issued - 61
        )


def test_bad_signature(provider: Provider, token: str) -> None:
    """A token whose payload was altered after signing is refused."""
    header, _, signature = token.split(".")
    claims = _claims(token)
    claims["email"] = "mallory@example.com"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(OidcRefusal, match="signature does not verify"):
        verify_id_token(
            provider,
            client_id=OTHER_CLIENT_ID,
            token=f"{header}.{forged}.{signature}",
            nonce="n-1",
        )


def test_a_key_the_provider_does_not_publish(provider: Provider) -> None:
    """A kid absent from the JWKS, even after fetching it again, is refused."""
    with IdP([], ACCOUNTS, keys=[signing_key("rogue")]).start() as rogue:
        foreign = mint_id_token(rogue, "ada@example.com", nonce="n-1")
    with pytest.raises(OidcRefusal, match="key the provider does not publish"):
        verify_id_token(provider, client_id=OTHER_CLIENT_ID, token=foreign, nonce="n-1")


def test_nonce_mismatch(provider: Provider, token: str) -> None:
    """Another sign-in's token (another nonce) is refused."""
    with pytest.raises(OidcRefusal, match="nonce does not match"):
        verify_id_token(provider, client_id=OTHER_CLIENT_ID, token=token, nonce="n-2")


def test_unsigned_tokens_are_refused(provider: Provider, token: str) -> None:
    """`alg: none` never passes."""
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').decode().rstrip("=")
    payload = token.split(".")[1]
    with pytest.raises(OidcRefusal, match="algorithm we refuse"):
        verify_id_token(
            provider, client_id=OTHER_CLIENT_ID, token=f"{header}.{payload}.", nonce="n-1"
        )


@pytest.mark.parametrize(
    "url",
    ["http://idp.example.com", "ftp://idp.example.com", "https://user:pw@idp.example.com", "x"],
)
def test_issuers_are_https_except_on_loopback(url: str) -> None:
    """http is refused except for 127.0.0.0/8, ::1 and localhost."""
    with pytest.raises(InvalidError):
        check_url(url, "The issuer")
    for loopback in ("http://127.0.0.1:8080", "http://[::1]:9000", "http://localhost"):
        assert check_url(loopback, "The issuer") == loopback


def test_an_unreadable_key_in_the_jwks_is_skipped(idp: IdP, provider: Provider, token: str) -> None:
    """One key the library cannot read (a bad EC point) does not stop the others."""
    published = httpx.get(provider.jwks_uri, timeout=10).json()
    odd = {"kty": "EC", "crv": "P-256", "x": "bad", "y": "bad", "kid": "odd", "use": "sig"}
    document = json.dumps({"keys": [odd, *published["keys"]]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Jwks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        jwks_uri = f"http://127.0.0.1:{server.server_address[1]}/jwks"
        served = Provider.of_document({**provider.document(), "jwks_uri": jwks_uri})
        claims = verify_id_token(served, client_id=OTHER_CLIENT_ID, token=token, nonce="n-1")
        assert claims["email"] == "ada@example.com"
    finally:
        server.shutdown()
