"""Request bodies are read with a cap: a larger one is refused with 413 before it is read
whole, by the admin API (the feed and webhooks included) and the console's forms."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scimitar.faces.admin.api import CHECKED_FIRST_BYTES
from scimitar.faces.console import console
from scimitar.faces.web import wire
from tests.faces.admin.helpers import Site, raw_post
from tests.faces.scim.harness import live_server


@pytest.fixture
def base(site: Site) -> Iterator[str]:
    with live_server(site.db) as url:
        yield url


def _targets(site: Site) -> list[tuple[str, dict[str, str], int]]:
    bearer = {"Authorization": f"Bearer {site.token}"}
    as_json = {**bearer, "Content-Type": "application/json"}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return [
        ("/api/v1/webhooks", as_json, wire.MAX_BODY),
        ("/api/v1/groups/any/grants/preview", as_json, wire.MAX_BODY),
        ("/api/v1/projects", as_json, wire.MAX_BODY),
        ("/console/sign-in", form, console.MAX_FORM),
    ]


def test_a_declared_length_over_the_cap_is_refused_unread(site: Site, base: str) -> None:
    """A Content-Length over the cap is 413 at once, though no byte of the body was sent."""
    for path, headers, cap in _targets(site):
        status = raw_post(base, path, {**headers, "Content-Length": str(cap + 1)})
        assert status == 413, path


def test_a_chunked_body_over_the_cap_is_refused(site: Site, base: str) -> None:
    """A chunked body is read up to the cap, then refused with 413 (the rest is never read)."""
    for path, headers, cap in _targets(site):
        status = raw_post(base, path, headers, chunks=cap // 16_384 + 8)
        assert status == 413, path


def test_a_large_body_is_not_read_for_a_bad_token(site: Site, base: str) -> None:
    """Without a valid API token, the admin API answers 401 without reading a large body
    (one past CHECKED_FIRST_BYTES, or of undeclared length)."""
    headers = {"Authorization": "Bearer sat-wrong", "Content-Type": "application/json"}
    large = str(CHECKED_FIRST_BYTES + 1)
    for path in ("/api/v1/webhooks", "/api/v1/projects"):
        assert raw_post(base, path, {**headers, "Content-Length": large}) == 401, path
