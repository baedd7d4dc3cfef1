"""A webhook URL whose host normalizes (NFKC, IDNA) to an internal address is refused when
the endpoint is made or changed, as delivery would read it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scimitar.domain.events.addresses import wire_host
from scimitar.storage.database import Database
from tests.faces.admin.helpers import Site, make_site

DISGUISED = [
    "http://①②⑦.0.0.1/hook",  # circled digits: 127.0.0.1
    "http://１２７．０．０．１/hook",  # fullwidth digits and dots
    "http://127。0。0。1:8080/hook",  # ideographic full stops
    "https://⑯⑨.②⑤④.⑯⑨.②⑤④/latest/meta-data",  # the cloud metadata address
    "http://①⓪.⓪.⓪.①/hook",  # 10.0.0.1, private
    "http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/hook",  # localhost
    "http://LOCALHOST./hook",
]


@pytest.fixture
def site(db: Database) -> Iterator[Site]:
    made = make_site(db)
    with made.client:
        yield made


def test_wire_host_reads_hosts_as_delivery_does() -> None:
    """NFKC and IDNA first: the disguised spellings are the plain addresses."""
    assert wire_host("①②⑦.0.0.1") == "127.0.0.1"
    assert wire_host("１２７．０．０．１") == "127.0.0.1"
    assert wire_host("ⓛⓞⓒⓐⓛⓗⓞⓢⓣ.") == "localhost"
    assert wire_host("bücher.example") == "xn--bcher-kva.example"


@pytest.mark.parametrize("url", DISGUISED)
def test_disguised_internal_hosts_are_refused_at_creation(site: Site, url: str) -> None:
    """POST /webhooks with a host that normalizes to an internal address → 422."""
    refused = site.api.post("/webhooks", {"url": url, "events": ["*"]}, expect=422)
    assert (
        "internal address" in refused["error"]["detail"] or "itself" in refused["error"]["detail"]
    )
    assert site.api.get("/webhooks")["webhooks"] == []


@pytest.mark.parametrize("url", DISGUISED)
def test_disguised_internal_hosts_are_refused_on_update(site: Site, url: str) -> None:
    """PATCH /webhooks/{id} to such a URL → 422, the endpoint unchanged."""
    made = site.api.post("/webhooks", {"url": "https://hooks.example.com/in", "events": ["*"]})
    endpoint = made.get("endpoint", made)
    site.api.patch(f"/webhooks/{endpoint['id']}", {"url": url}, expect=422)
    assert site.api.get(f"/webhooks/{endpoint['id']}")["url"] == "https://hooks.example.com/in"
