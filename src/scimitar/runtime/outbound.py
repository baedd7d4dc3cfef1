"""Outgoing webhook requests that cannot be pointed at internal addresses.

The URL's host is resolved at delivery time, every address it resolves to is checked, and
the request is sent to the checked address itself (with the original `Host` header and TLS
server name), so a DNS answer that changes between the check and the connection cannot
redirect it. Every address that is not global unicast (loopback, private, shared, link-local,
multicast, reserved, and IPv6 addresses carrying such an IPv4 address) is refused unless the
host name or a network containing the address is listed in `SCIMITAR_WEBHOOK_ALLOWED_HOSTS`.
Redirects are never followed; resolving, connecting and reading all have short timeouts.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from scimitar.domain.errors import InvalidError
from scimitar.domain.events import webhooks
from scimitar.domain.events.addresses import AllowList, IPAddress, is_internal, refused
from scimitar.domain.events.deliveries import EXCERPT, Result


class RefusedAddress(Exception):
    """Raised when a webhook URL resolves to an address that may not be reached."""


class Resolver:
    """Host name lookups with a bounded wait: `getaddrinfo` cannot be interrupted, so it
    runs in a small pool of its own and a lookup that hangs is abandoned, not waited for."""

    def __init__(self, *, timeout: float = 5.0, threads: int = 4) -> None:
        self.timeout = timeout
        self.pool = ThreadPoolExecutor(threads, "webhook-dns")

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        future = self.pool.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        try:
            infos = future.result(timeout=self.timeout)
        except FutureTimeout:
            future.cancel()
            raise RefusedAddress(f"cannot resolve {host}: timed out") from None
        except socket.gaierror as exc:
            raise RefusedAddress(f"cannot resolve {host}: {exc.strerror}") from None
        except (OSError, UnicodeError, ValueError) as exc:
            raise RefusedAddress(f"cannot resolve {host}: {exc}") from None
        return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))

    def checked_address(self, target: Target, allow: AllowList) -> IPAddress:
        """The address to send to: the first the host resolves to, once all of them passed."""
        addresses = self.resolve(target.host, target.port)
        for address in addresses:
            if is_internal(address) and not allow.allows(target.host, address):
                raise RefusedAddress(f"{target.host} resolves to {refused(address)}")
        if not addresses:
            raise RefusedAddress(f"{target.host} resolves to no address")
        return addresses[0]

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class Target:
    """A webhook URL taken apart: where to connect, and what to say the host is."""

    url: str
    scheme: str
    #: The host as it goes on the wire: IDNA-encoded, or an IP address literal.
    host: str
    port: int
    explicit_port: bool

    @classmethod
    def parse(cls, url: str) -> Target:
        """Raises RefusedAddress for a URL that could never be delivered to."""
        try:
            webhooks.check_url(url)
        except InvalidError as exc:
            raise RefusedAddress(f"invalid URL: {exc.detail}") from None
        parts = urlsplit(url)
        host = webhooks.ascii_host(parts.hostname or "")
        default = 443 if parts.scheme == "https" else 80
        return cls(url, parts.scheme, host, parts.port or default, parts.port is not None)

    @property
    def host_header(self) -> str:
        literal = f"[{self.host}]" if ":" in self.host else self.host
        return f"{literal}:{self.port}" if self.explicit_port else literal

    def pinned(self, address: IPAddress) -> str:
        """The URL with the checked address in place of the host name."""
        parts = urlsplit(self.url)
        literal = f"[{address}]" if address.version == 6 else str(address)
        netloc = f"{literal}:{self.port}" if self.explicit_port else literal
        return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


class Sender:
    """Posts webhook bodies; one per worker, reusing connections. A post never raises:
    whatever goes wrong is the failed attempt's reason."""

    def __init__(self, allow: AllowList, *, timeout: float = 10.0) -> None:
        self.allow = allow
        self.timeout = timeout
        self.resolver = Resolver(timeout=min(timeout, 5.0))
        # No proxy settings from the environment (trust_env), but the standard variable
        # naming a CA bundle is honoured: receivers behind a private CA (docs/deployment.md).
        ca_file = os.environ.get("SSL_CERT_FILE")
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
            trust_env=False,
            verify=ssl.create_default_context(cafile=ca_file) if ca_file else True,
        )

    @property
    def longest(self) -> float:
        """About the most one post can take, in seconds: resolve, connect, write, then read
        until the body deadline (one more read may be under way when it passes)."""
        return self.resolver.timeout + min(self.timeout, 5.0) + 4 * self.timeout

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Result:
        started = time.perf_counter()
        try:
            target = Target.parse(url)
            address = self.resolver.checked_address(target, self.allow)
            extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
            with self.client.stream(
                "POST",
                target.pinned(address),
                content=body,
                headers={**headers, "Host": target.host_header},
                extensions=extensions,
            ) as response:
                excerpt = _excerpt(response, started + 2 * self.timeout)
            return Result(response.status_code, _ms(started), None, excerpt)
        except RefusedAddress as exc:
            return Result(None, _ms(started), f"refused: {exc}"[:EXCERPT])
        except Exception as exc:  # one endpoint's failure must never stop the others
            return Result(None, _ms(started), f"{type(exc).__name__}: {exc}"[:EXCERPT])

    def close(self) -> None:
        self.client.close()
        self.resolver.close()


def _excerpt(response: httpx.Response, deadline: float) -> str:
    read = b""
    for chunk in response.iter_bytes():
        read += chunk
        # A receiver that drips its answer must not hold the worker (and its lease).
        if len(read) >= EXCERPT or time.perf_counter() > deadline:
            break
    return read[:EXCERPT].decode("utf-8", "replace")


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
