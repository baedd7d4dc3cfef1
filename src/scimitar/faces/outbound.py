"""Outgoing webhook requests that cannot be pointed at internal addresses.

The URL's host is resolved at delivery time, every address it resolves to is checked, and
the request is sent to the checked address itself (with the original `Host` header and TLS
server name), so a DNS answer that changes between the check and the connection cannot
redirect it. Loopback, private, link-local, multicast and reserved addresses are refused
unless the host name or a network containing the address is listed in
`SCIMITAR_WEBHOOK_ALLOWED_HOSTS`. Redirects are never followed; timeouts are short.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import httpx

from scimitar.domain.deliveries import EXCERPT, Result

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


def is_internal(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_internal(address.ipv4_mapped)
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise RefusedAddress(f"cannot resolve {host}: {exc.strerror}") from None
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


def checked_address(url: str, allow: AllowList) -> IPAddress:
    """The address to send to: the first the host resolves to, once all of them passed."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = resolve(host, port)
    for address in addresses:
        if is_internal(address) and not allow.allows(host, address):
            raise RefusedAddress(
                f"{host} resolves to {address}, an internal address; list it in "
                "SCIMITAR_WEBHOOK_ALLOWED_HOSTS to allow it"
            )
    if not addresses:
        raise RefusedAddress(f"{host} resolves to no address")
    return addresses[0]


def _pinned(url: str, address: IPAddress) -> str:
    parts = urlsplit(url)
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


class Sender:
    """Posts webhook bodies; one per worker, reusing connections."""

    def __init__(self, allow: AllowList, *, timeout: float = 10.0) -> None:
        self.allow = allow
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
            trust_env=False,
        )

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Result:
        started = time.perf_counter()
        try:
            address = checked_address(url, self.allow)
            parts = urlsplit(url)
            host = parts.netloc.rpartition("@")[2]
            extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
            with self.client.stream(
                "POST",
                _pinned(url, address),
                content=body,
                headers={**headers, "Host": host},
                extensions=extensions,
            ) as response:
                excerpt = _excerpt(response)
            return Result(response.status_code, _ms(started), None, excerpt)
        except RefusedAddress as exc:
            return Result(None, _ms(started), f"refused: {exc}")
        except httpx.HTTPError as exc:
            return Result(None, _ms(started), f"{type(exc).__name__}: {exc}"[:EXCERPT])

    def close(self) -> None:
        self.client.close()


def _excerpt(response: httpx.Response) -> str:
    read = b""
    for chunk in response.iter_bytes():
        read += chunk
        if len(read) >= EXCERPT:
            break
    return read[:EXCERPT].decode("utf-8", "replace")


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
