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
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import httpx

from scimitar.domain import webhooks
from scimitar.domain.deliveries import EXCERPT, Result
from scimitar.domain.errors import InvalidError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class RefusedAddress(Exception):
    """Raised when a webhook URL resolves to an address that may not be reached."""


@dataclass(frozen=True)
class AllowList:
    """Hosts and networks that webhooks may reach although they are internal."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, text: str) -> AllowList:
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                hosts.add(item.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows(self, host: str, address: IPAddress) -> bool:
        if host.lower().rstrip(".") in self.hosts:
            return True
        return any(address in network for network in self.networks)


#: Not reachable from the internet, though Python's `is_global` (3.11) says they are.
_NOT_GLOBAL: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(network)
    for network in ("100.64.0.0/10", "192.0.0.0/24", "64:ff9b:1::/48", "2001::/23")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64)."""
    if address.ipv4_mapped is not None:
        return (address.ipv4_mapped,)
    if address.sixtofour is not None:
        return (address.sixtofour,)
    if address.teredo is not None:
        return address.teredo
    if address in _NAT64:
        return (ipaddress.IPv4Address(int(address) & 0xFFFFFFFF),)
    return ()


def is_internal(address: IPAddress) -> bool:
    """Anything but a global unicast address; an IPv6 address that carries an IPv4 address
    is judged by what it carries."""
    if isinstance(address, ipaddress.IPv6Address):
        carried = _embedded(address)
        if carried:
            return any(is_internal(inner) for inner in carried)
    return (
        not address.is_global
        or address.is_multicast
        or address.is_reserved  # e.g. IPv4-compatible ::127.0.0.1, which 3.11 calls global
        or any(address in network for network in _NOT_GLOBAL)
    )


def allowed_hosts_from_env() -> AllowList:
    return AllowList.parse(os.environ.get("SCIMITAR_WEBHOOK_ALLOWED_HOSTS", ""))


def refuse_internal_url(url: object, allow: AllowList | None = None) -> None:
    """When an endpoint is created or changed: a URL whose host is an internal IP address
    or a `localhost` name is refused there and then (`InvalidError`), unless allowed, rather
    than failing every delivery later. Host names are resolved, and checked again, only at
    delivery: what they resolve to can change."""
    if not isinstance(url, str):
        return  # the domain's check says what is wrong with it
    try:
        host = (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return
    allow = allow if allow is not None else allowed_hosts_from_env()
    address = _literal_address(host)
    if address is None:
        loopback = ipaddress.IPv4Address("127.0.0.1")
        if (host == "localhost" or host.endswith(".localhost")) and not allow.allows(
            host, loopback
        ):
            raise InvalidError(
                f"url points at {host}, this server itself; list it in "
                "SCIMITAR_WEBHOOK_ALLOWED_HOSTS to allow it"
            )
        return
    if is_internal(address) and not allow.allows(host, address):
        raise InvalidError(
            f"url points at {address}, an internal address; list it in "
            "SCIMITAR_WEBHOOK_ALLOWED_HOSTS to allow it"
        )


def _literal_address(host: str) -> IPAddress | None:
    """`host` as an IP address if it is one, in any form the resolver would read as one
    (`127.1`, `0x7f000001`, `2130706433` are all 127.0.0.1)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefx." for c in host) and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


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
                raise RefusedAddress(
                    f"{target.host} resolves to {address}, an internal address; list it in "
                    "SCIMITAR_WEBHOOK_ALLOWED_HOSTS to allow it"
                )
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
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
            trust_env=False,
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
