"""Over its rate limit, a SCIM key gets a SCIM 429 and an API token the admin API's 429,
both with `Retry-After`; other credentials are untouched; an org can set its own limits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from httpx2 import Response
from starlette.testclient import TestClient

from scimitar.config import Settings, SettingsError
from scimitar.faces.app import create_app
from scimitar.protocol.schema import ERROR
from scimitar.storage.database import Database
from tests.faces.admin.helpers import Api, api_token, schema_errors
from tests.faces.scim.harness import PUBLIC_URL, make_org
from tests.runtime.test_metrics import samples

SCIM_RATE = 2  # a burst of 10
API_RATE = 3  # a burst of 15


@dataclass
class Site:
    client: TestClient
    key: str
    other_key: str
    api: Api


@pytest.fixture
def site(db: Database, request: pytest.FixtureRequest) -> Iterator[Site]:
    """Small limits; SQLite counts in the file beside the database, PostgreSQL in Redis."""
    settings = Settings(
        database_url=db.url,
        public_url=PUBLIC_URL,
        scim_rate_limit=SCIM_RATE,
        api_rate_limit=API_RATE,
        redis_url=None if db.is_sqlite else request.getfixturevalue("redis_url"),
    )
    org, key = make_org(db)
    _, other_key = make_org(db, "globex")
    token = api_token(db, org)
    with TestClient(create_app(settings, db=db), base_url="https://testserver") as client:
        api = Api(client, {"Authorization": f"Bearer {token}"})
        yield Site(client, key, other_key, api)


def _get(site: Site, key: str) -> Response:
    return site.client.get("/scim/Users?count=1", headers={"Authorization": f"Bearer {key}"})


def _scim(site: Site, key: str) -> int:
    return _get(site, key).status_code


def _flood(site: Site, key: str) -> list[Response]:
    """Requests until the first 429 (at most 40)."""
    answers = [_get(site, key)]
    while answers[-1].status_code != 429 and len(answers) < 40:
        answers.append(_get(site, key))
    return answers


def _flood_scim(site: Site, key: str) -> list[int]:
    return [answer.status_code for answer in _flood(site, key)]


def test_scim_key_over_its_limit_gets_429_with_retry_after(site: Site) -> None:
    """The burst (5 s of the rate) passes; then 429 with Retry-After and a SCIM error."""
    answers = _flood(site, site.key)
    statuses = [answer.status_code for answer in answers]
    assert statuses[: SCIM_RATE * 5] == [200] * (SCIM_RATE * 5)
    answer = answers[-1]
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "1"
    assert answer.headers["Content-Type"].startswith("application/scim+json")
    body = answer.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == "429"
    assert "retry after 1 second" in body["detail"]


def test_the_limit_is_per_key_and_ends_after_the_wait(site: Site) -> None:
    """Another org's key is not limited by this one's flood; this key works again after
    Retry-After seconds."""
    refused = _flood(site, site.key)[-1]
    assert refused.status_code == 429
    assert _scim(site, site.other_key) == 200
    assert site.api.get("/org")["slug"] == "acme"  # the same org's API token, unaffected
    time.sleep(int(refused.headers["Retry-After"]))
    assert _scim(site, site.key) == 200


def test_api_token_over_its_limit_gets_the_api_error_and_retry_after(site: Site) -> None:
    """The admin API answers {"error": {"code": "rate_limited", …}}, as documented."""
    answers = [site.client.get("/api/v1/org", headers=site.api.headers)]
    while answers[-1].status_code != 429 and len(answers) < 60:
        answers.append(site.client.get("/api/v1/org", headers=site.api.headers))
    statuses = [answer.status_code for answer in answers]
    assert statuses[: API_RATE * 5] == [200] * (API_RATE * 5)
    answer = answers[-1]
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "1"
    assert answer.json()["error"]["code"] == "rate_limited"
    assert not schema_errors("GET", "/api/v1/org", 429, answer.json())
    assert _scim(site, site.key) == 200  # the org's SCIM key, unaffected


def test_an_org_sets_its_own_limits(site: Site) -> None:
    """PATCH /rate-limits: 0 lifts the SCIM limit for this org, null restores the default;
    bad values are 422 and change nothing."""
    assert site.api.get("/rate-limits") == {"scim_per_second": None, "api_per_second": None}
    site.api.patch("/rate-limits", {"scim_per_second": 0})
    assert set(_flood_scim(site, site.key)) == {200}
    for bad in (-1, 1.5, "10", True, 10**7):
        site.api.patch("/rate-limits", {"scim_per_second": bad}, expect=422)
    site.api.patch("/rate-limits", {"burst": 3}, expect=400)
    assert site.api.get("/rate-limits") == {"scim_per_second": 0, "api_per_second": None}
    site.api.patch("/rate-limits", {"scim_per_second": None, "api_per_second": 100})
    assert site.api.get("/rate-limits") == {"scim_per_second": None, "api_per_second": 100}
    assert _flood_scim(site, site.key)[-1] == 429


def test_limited_requests_are_counted_by_face(site: Site) -> None:
    """`scimitar_rate_limited_requests_total{face}` counts the 429s."""
    assert _flood_scim(site, site.key)[-1] == 429
    scraped = samples(site.client.get("/metrics").text)
    assert scraped[("scimitar_rate_limited_requests_total", (("face", "scim"),))] >= 1


def test_postgresql_without_redis_refuses_an_explicit_limit(db: Database) -> None:
    """On PostgreSQL only Redis shares the count between hosts: a limit set without it
    stops the start with a message, instead of counting per process."""
    if db.is_sqlite:
        pytest.skip("SQLite counts in a file beside the database")
    settings = Settings(database_url=db.url, scim_rate_limit=20)
    with pytest.raises(SettingsError, match="SCIMITAR_REDIS_URL"):
        create_app(settings, db=db)
