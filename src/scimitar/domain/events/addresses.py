"""Which addresses webhooks may reach: every address but global unicast ones is internal
(loopback, private, shared, link-local, multicast, reserved, and IPv6 addresses carrying
such an IPv4 address), and refused unless its host or a network containing it is listed in
`SCIMITAR_WEBHOOK_ALLOWED_HOSTS`. Checked when an endpoint is made or changed (a literal
address, a `localhost` name) and again at each delivery (`runtime.outbound`, on every address
a name resolves to)."""

from __future__ import annotations

import ipaddress
import socket
import unicodedata
from dataclasses import dataclass, field

from scimitar.domain.errors import InvalidError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
ALLOWED_HOSTS = "SCIMITAR_WEBHOOK_ALLOWED_HOSTS"


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


def refused(address: IPAddress) -> str:
    """Why an address is refused, and how to allow it (at creation and at delivery)."""
    return f"{address}, an internal address; list it in {ALLOWED_HOSTS} to allow it"


def refuse_internal_host(host: str, allow: AllowList) -> None:
    """A host that is an internal IP address (in any spelling) or a `localhost` name is
    refused (`InvalidError`) unless allowed. Other names are resolved, and checked, only at
    delivery: what they resolve to can change."""
    host = wire_host(host)
    address = _literal_address(host)
    if address is None:
        loopback = ipaddress.IPv4Address("127.0.0.1")
        if (host == "localhost" or host.endswith(".localhost")) and not allow.allows(
            host, loopback
        ):
            raise InvalidError(
                f"url points at {host}, this server itself; list it in {ALLOWED_HOSTS} to allow it"
            )
        return
    if is_internal(address) and not allow.allows(host, address):
        raise InvalidError(f"url points at {refused(address)}")


def wire_host(host: str) -> str:
    """The host as the resolver reads it: each label NFKC-normalized and IDNA-encoded, as
    delivery encodes it (`①②⑦.0.0.1` and `１２７．０．０．１` are 127.0.0.1, `ⓛⓞⓒⓐⓛⓗⓞⓢⓣ`
    is localhost); lower-cased, without a final dot."""
    host = host.rstrip(".")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:  # not a valid name: refused elsewhere; still read as it normalizes
        host = unicodedata.normalize("NFKC", host)
    return host.rstrip(".").lower()


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
