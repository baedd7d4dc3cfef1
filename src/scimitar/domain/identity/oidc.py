"""The OpenID Connect relying party: discovery, the authorization request, the code exchange
and the ID token's verification. No database here (see `domain/identity/sso.py`).

Decisions:
- OAuth messages are built by Authlib (`prepare_grant_uri`, PKCE S256, client
  authentication) and the ID token is verified by joserfc (JWS signature against the JWKS,
  registered claims); HTTP goes through httpx with a timeout. Nothing JOSE is hand-written.
- The JWKS is cached per process by its URL and fetched again when a token names a key id
  the cache lacks (the provider rotated its keys). A token only reaches this code from the
  provider's token endpoint, after a one-use state: a browser cannot make us fetch at will.
- Each failure is an `OidcRefusal` whose text says what is wrong, for the refusal page.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from scimitar.domain.errors import InvalidError

TIMEOUT = httpx.Timeout(10.0)
#: Discovery runs inside the transaction that saves the connection: kept short.
DISCOVERY_TIMEOUT = httpx.Timeout(5.0)
#: Clock skew allowed between the provider and this server, for `exp` and `iat`.
LEEWAY_SECONDS = 60
#: How long a JWKS is trusted before it is read again (a rotation is caught sooner, by kid).
JWKS_TTL_SECONDS = 3600
#: Asymmetric algorithms only: `none` and HMAC (keyed by the client secret) are refused.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
SCOPE = "openid email profile"
MAX_DOCUMENT = 262_144


class OidcRefusal(Exception):
    """The provider's answer cannot be trusted or used; `detail` says why, for people."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Provider:
    """What discovery says about an OpenID provider (the parts a relying party uses)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_auth_method: str

    def document(self) -> dict[str, str]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.authorization_endpoint,
            "token_endpoint": self.token_endpoint,
            "jwks_uri": self.jwks_uri,
            "token_auth_method": self.token_auth_method,
        }

    @classmethod
    def of_document(cls, document: dict[str, Any]) -> Provider:
        return cls(
            issuer=str(document["issuer"]),
            authorization_endpoint=str(document["authorization_endpoint"]),
            token_endpoint=str(document["token_endpoint"]),
            jwks_uri=str(document["jwks_uri"]),
            token_auth_method=str(document["token_auth_method"]),
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, what: str) -> str:
    """`url` when it is https (or http on a loopback address, for tests); `InvalidError`."""
    url = url.strip()
    parts = urlsplit(url)
    host = parts.hostname or ""
    if len(url) > 2048 or not host or parts.username or parts.password or parts.fragment:
        raise InvalidError(f"{what} must be an https URL, e.g. https://example.okta.com")
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(host)):
        return url
    raise InvalidError(f"{what} must use https (http only on a loopback address): {url!r}")


def _get_json(url: str, what: str, timeout: httpx.Timeout = TIMEOUT) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=timeout, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise OidcRefusal(f"Could not reach {what} at {url} ({type(exc).__name__})") from None
    if response.status_code != 200:
        raise OidcRefusal(f"{what} at {url} answered HTTP {response.status_code}")
    if len(response.content) > MAX_DOCUMENT:
        raise OidcRefusal(f"{what} at {url} is too large")
    try:
        body = response.json()
    except ValueError:
        raise OidcRefusal(f"{what} at {url} is not JSON") from None
    if not isinstance(body, dict):
        raise OidcRefusal(f"{what} at {url} is not a JSON object")
    return body


def discover(issuer: str) -> Provider:
    """Read the issuer's `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0
    §4); the document must name the same issuer and https endpoints."""
    issuer = check_url(issuer, "The issuer")
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        document = _get_json(url, "The discovery document", DISCOVERY_TIMEOUT)
    except OidcRefusal as exc:
        raise InvalidError(exc.detail) from None
    named = document.get("issuer")
    # Discovery §4.3: the issuer in the document is the issuer, exactly (a pasted trailing
    # slash aside); tokens must carry this value.
    if not isinstance(named, str) or named.rstrip("/") != issuer.rstrip("/"):
        raise InvalidError(f"The discovery document at {url} names another issuer: {named!r}")
    endpoints: dict[str, str] = {}
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = document.get(key)
        if not isinstance(value, str):
            raise InvalidError(f"The discovery document at {url} has no {key}")
        endpoints[key] = check_url(value, f"The provider's {key}")
    supported = document.get("token_endpoint_auth_methods_supported", ["client_secret_basic"])
    method = next((m for m in AUTH_METHODS if isinstance(supported, list) and m in supported), "")
    if not method:
        raise InvalidError(
            "The provider supports neither client_secret_basic nor client_secret_post "
            f"at its token endpoint ({supported!r})"
        )
    return Provider(issuer=named, token_auth_method=method, **endpoints)


def authorization_url(
    provider: Provider,
    *,
    client_id: str,
    redirect_uri: str,
    state: str,
    nonce: str,
    code_verifier: str,
) -> str:
    """Where to send the browser: an authorization code request with PKCE S256."""
    url: str = prepare_grant_uri(
        provider.authorization_endpoint,
        client_id,
        "code",
        redirect_uri=redirect_uri,
        scope=SCOPE,
        state=state,
        nonce=nonce,
        code_challenge=create_s256_code_challenge(code_verifier),
        code_challenge_method="S256",
    )
    return url


def exchange_code(
    provider: Provider,
    *,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    code: str,
    code_verifier: str,
) -> str:
    """The ID token the provider's token endpoint gives for `code` (RFC 6749 §4.1.3)."""
    body: str = prepare_token_request(
        "authorization_code", redirect_uri=redirect_uri, code=code, code_verifier=code_verifier
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    auth = ClientAuth(client_id, client_secret, provider.token_auth_method)
    url, headers, body = auth.prepare("POST", provider.token_endpoint, headers, body)
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise OidcRefusal(
            f"Could not reach the provider's token endpoint ({type(exc).__name__})"
        ) from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise OidcRefusal(f"The provider's token endpoint answered HTTP {response.status_code}")
    if response.status_code != 200 or "error" in answer:
        error = str(answer.get("error", response.status_code))
        described = answer.get("error_description")
        reason = f"{error}: {described}" if described else error
        raise OidcRefusal(f"The provider refused to exchange the code ({reason})")
    token = answer.get("id_token")
    if not isinstance(token, str):
        raise OidcRefusal("The provider's token answer has no ID token (is 'openid' allowed?)")
    return token


class _KeyCache:
    """JWKS by URL, for this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sets: dict[str, tuple[float, KeySet]] = {}

    def key_set(self, jwks_uri: str, kid: str | None) -> KeySet:
        with self._lock:
            cached = self._sets.get(jwks_uri)
        fresh = cached is not None and time.monotonic() - cached[0] < JWKS_TTL_SECONDS
        if cached is not None and fresh and _has_kid(cached[1], kid):
            return cached[1]
        fetched = self._fetch(jwks_uri)
        with self._lock:
            self._sets[jwks_uri] = (time.monotonic(), fetched)
        return fetched

    @staticmethod
    def _fetch(jwks_uri: str) -> KeySet:
        document = _get_json(jwks_uri, "The provider's JWKS")
        keys = document.get("keys")
        usable = [k for k in keys if isinstance(k, dict)] if isinstance(keys, list) else []
        # Keys for signing (or of no stated use); a key that cannot be read is skipped, so
        # one odd key does not stop sign-in with the others.
        readable = []
        for key in usable:
            if key.get("use", "sig") != "sig" or key.get("kty") == "oct":
                continue
            try:
                readable.append(KeySet.import_key_set({"keys": [key]}).keys[0])
            except (JoseError, ValueError, TypeError):
                continue
        if not readable:
            raise OidcRefusal(f"The provider's JWKS at {jwks_uri} has no usable key")
        return KeySet(readable)


def _has_kid(key_set: KeySet, kid: str | None) -> bool:
    if kid is None:
        return len(key_set.keys) == 1
    return any(key.kid == kid for key in key_set.keys)


_keys = _KeyCache()


def verify_id_token(
    provider: Provider, *, client_id: str, token: str, nonce: str, now: float | None = None
) -> dict[str, Any]:
    """The claims of an ID token that passes OpenID Connect Core §3.1.3.7: signed by a key in
    the provider's JWKS, from this issuer, for this client, not expired, with our nonce."""
    try:
        header = jws.extract_compact(token.encode()).protected
    except (JoseError, ValueError):
        raise OidcRefusal("The ID token is not a signed JWT") from None
    kid = header.get("kid")
    if header.get("alg") not in ALGORITHMS:
        raise OidcRefusal(
            f"The ID token is signed with an algorithm we refuse: {header.get('alg')}"
        )
    key_set = _keys.key_set(provider.jwks_uri, kid if isinstance(kid, str) else None)
    if not _has_kid(key_set, kid if isinstance(kid, str) else None):
        raise OidcRefusal(
            f"The ID token is signed with a key the provider does not publish ({kid})"
        )
    try:
        decoded = jwt.decode(token, key_set, algorithms=list(ALGORITHMS))
    except BadSignatureError:
        raise OidcRefusal("The ID token's signature does not verify") from None
    except (JoseError, ValueError):
        raise OidcRefusal("The ID token cannot be read") from None
    claims = decoded.claims
    registry = jwt.JWTClaimsRegistry(
        now=int(time.time() if now is None else now),
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": provider.issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise OidcRefusal("The ID token has expired (check this server's clock)") from None
    except MissingClaimError as exc:
        raise OidcRefusal(f"The ID token lacks the claim {exc.description}") from None
    except InvalidClaimError as exc:
        raise OidcRefusal(_claim_refusal(exc.claim, claims, provider, client_id)) from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise OidcRefusal(f"The ID token was issued to another party (azp {azp!r})")
    return claims


def _claim_refusal(claim: str, claims: dict[str, Any], provider: Provider, client_id: str) -> str:
    if claim == "iss":
        return (
            f"The ID token is from another issuer ({claims.get('iss')!r}, not {provider.issuer!r})"
        )
    if claim == "aud":
        return f"The ID token is for another application ({claims.get('aud')!r}, not {client_id!r})"
    if claim == "nonce":
        return "The ID token's nonce does not match this sign-in (a replayed or mixed-up answer)"
    if claim == "iat":
        return "The ID token was issued in the future (check this server's clock)"
    return f"The ID token's {claim!r} claim is not valid"
