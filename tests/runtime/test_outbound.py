"""Outgoing webhook requests: which addresses are internal, and the allow-list that opens them."""

from __future__ import annotations

import ipaddress

import pytest

from scimitar.domain.errors import InvalidError
from scimitar.domain.events.addresses import AllowList, is_internal, refuse_internal_host
from scimitar.domain.events.webhooks import check_reachable_url
from scimitar.runtime.outbound import RefusedAddress, Resolver, Target

INTERNAL = [
    "127.0.0.1",
    "10.1.2.3",
    "169.254.169.254",
    "100.64.0.1",
    "100.100.100.200",
    "192.0.0.8",
    "0.0.0.0",
    "239.1.1.1",
    "::1",
    "fe80::1",
    "fc00::1",
    "::ffff:127.0.0.1",
    "2002:a9fe:a9fe::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "64:ff9b::a9fe:a9fe",
]


@pytest.mark.parametrize("address", INTERNAL)
def test_non_global_addresses_are_internal(address: str) -> None:
    """Every address that is not global unicast, or carries one that is not, is internal."""
    assert is_internal(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700::1", "::ffff:8.8.8.8"])
def test_global_addresses_are_not_internal(address: str) -> None:
    """A global unicast address (or an IPv6 address carrying one) may be reached."""
    assert not is_internal(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["100.100.100.200", "192.0.0.8", "127.0.0.1"])
def test_resolver_refuses_internal_literals(address: str) -> None:
    """A URL naming an internal address is refused before any connection."""
    resolver = Resolver()
    try:
        with pytest.raises(RefusedAddress, match="internal address"):
            resolver.checked_address(Target.parse(f"http://{address}/hook"), AllowList())
    finally:
        resolver.close()


@pytest.mark.parametrize("allowed", ["127.0.0.1", "127.0.0.0/8", "localhost"])
def test_loopback_passes_only_when_listed(allowed: str) -> None:
    """127.0.0.1 may be reached only when its host or a network holding it is allow-listed."""
    resolver = Resolver()
    try:
        url = "http://localhost:8080/hook" if allowed == "localhost" else "http://127.0.0.1/"
        target = Target.parse(url)
        with pytest.raises(RefusedAddress):
            resolver.checked_address(target, AllowList.parse("10.0.0.0/8, example.com"))
        assert is_internal(resolver.checked_address(target, AllowList.parse(allowed)))
    finally:
        resolver.close()


@pytest.mark.parametrize(
    "url",
    ["http://example.com:99999/", "http://a..b.com/", f"http://{'a' * 64}.com/", "http://x y/"],
)
def test_undeliverable_urls_are_refused_with_a_reason(url: str) -> None:
    """A URL with a bad port or host is refused as invalid, not raised out of the sender."""
    with pytest.raises(RefusedAddress, match="invalid URL"):
        Target.parse(url)


def test_host_header_is_idna() -> None:
    """A non-ASCII host name is sent in its IDNA form, with the port when one was given."""
    target = Target.parse("https://bücher.example:8443/hook")
    assert target.host == "xn--bcher-kva.example"
    assert target.host_header == "xn--bcher-kva.example:8443"


@pytest.mark.parametrize(
    "url",
    [
        "http://0x7f000001/",
        "http://2130706433/",
        "http://127.1/",
        "http://0/",
        "http://[::127.0.0.1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://LOCALHOST./",
        "http://db.localhost/",
    ],
)
def test_internal_literals_in_any_spelling_are_refused_when_made(url: str) -> None:
    """What the resolver would read as an internal address is refused at creation too."""
    with pytest.raises(InvalidError, match="SCIMITAR_WEBHOOK_ALLOWED_HOSTS"):
        check_reachable_url(url, AllowList())


@pytest.mark.parametrize(
    "url", ["https://hooks.example.com/x", "http://8.8.8.8/", "http://1e100.net/"]
)
def test_names_and_global_addresses_pass_creation(url: str) -> None:
    assert check_reachable_url(url, AllowList()) == url


@pytest.mark.parametrize("url", [5, "::"])
def test_what_is_not_a_url_is_refused_as_such(url: object) -> None:
    """Not a URL: the URL check says so, before any address is looked at."""
    with pytest.raises(InvalidError, match="url must be"):
        check_reachable_url(url, AllowList())  # type: ignore[arg-type]


def test_localhost_passes_creation_when_its_network_is_allowed() -> None:
    refuse_internal_host("localhost", AllowList.parse("127.0.0.0/8"))
    refuse_internal_host("localhost", AllowList.parse("localhost"))
