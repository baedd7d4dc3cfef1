"""Whether the public URL can be reached by an identity provider's cloud."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


def loopback_warning(public_url: str) -> str | None:
    """The host of a public URL only this machine reaches (loopback), else None."""
    host = (urlsplit(public_url).hostname or "").lower()
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return host
    try:
        address = ipaddress.ip_address(host)
        # 0.0.0.0 is where a server listens, never an address a client can be sent to.
        loopback = address.is_loopback or address.is_unspecified
    except ValueError:
        return None
    return host if loopback else None
