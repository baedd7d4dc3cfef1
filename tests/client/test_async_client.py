"""The async client through httpx's ASGI transport: round trips, the feed, and retries of
requests safe to repeat (a busy database's 503, a 429 with Retry-After)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from scimitar.client import AccessCheck, AsyncClient, RateLimited, Retries, ServerError
from scimitar.storage import database
from tests.client.conftest import org_token
from tests.faces.scim.harness import make_org, start


def test_round_trips_and_the_feed(db_url: str) -> None:
    """Create, read, check and follow the feed with the async client, on both engines."""
    client, db = start(db_url)
    with client:
        org, _ = make_org(db)
        token = org_token(db, org)

        async def scenario() -> None:
            transport = httpx.ASGITransport(app=client.app)
            async with AsyncClient("http://testserver", token, transport=transport) as scimitar:
                project = await scimitar.create_project("Checkout")
                assert (await scimitar.get_project(project["id"]))["name"] == "Checkout"
                check: AccessCheck = {
                    "member": "owner@example.com",
                    "project": "Checkout",
                    "role": "Member",
                }
                [result] = await scimitar.check_access([check])
                assert result["allowed"] is False and result["reasons"]
                seen = [e async for e in scimitar.events(follow=False)]
                assert "project.created" in [e["type"] for e in seen]
                await scimitar.delete_project(project["id"])
                after = [e async for e in scimitar.events(after=seen[-1]["seq"], follow=False)]
                assert "project.deleted" in [e["type"] for e in after]
                assert all(e["seq"] > seen[-1]["seq"] for e in after)

        asyncio.run(scenario())
    db.dispose()


def test_a_busy_database_503_is_retried_for_delete_not_for_post(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another program holds SQLite's write lock: a DELETE gets 503, waits and succeeds
    once the lock is gone; a POST gets 503 once and raises ServerError."""
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "busy.db"
    client, db = start(f"sqlite:///{path}")
    with client:
        org, _ = make_org(db)
        token = org_token(db, org)
        retries = Retries(attempts=5, backoff=0.3)

        async def scenario() -> None:
            transport = httpx.ASGITransport(app=client.app, raise_app_exceptions=False)
            async with AsyncClient(
                "http://testserver", token, transport=transport, retries=retries
            ) as scimitar:
                project = await scimitar.create_project("Held")
                other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
                other.execute("BEGIN IMMEDIATE")
                try:
                    with pytest.raises(ServerError) as busy:
                        await scimitar.create_project("Never")
                    assert busy.value.status == 503 and "retry" in busy.value.detail
                    release = threading.Timer(0.5, lambda: other.execute("ROLLBACK"))
                    release.start()
                    began = time.monotonic()
                    await scimitar.delete_project(project["id"])
                    assert time.monotonic() - began >= 0.4  # waited for the lock to go
                    release.join()
                finally:
                    other.close()
                assert [p["name"] for p in await scimitar.list_projects()] == []

        asyncio.run(scenario())
    db.dispose()


def _rate_limited_app() -> Starlette:
    """A stand-in for a rate-limited Scimitar (the limiter is built elsewhere): the first
    request of each method answers 429 with Retry-After and the API's error body."""
    calls: dict[str, int] = {}

    async def projects(request: Request) -> JSONResponse:
        calls[request.method] = calls.get(request.method, 0) + 1
        if calls[request.method] == 1:
            body = {"error": {"code": "rate_limited", "detail": "Too many requests"}}
            return JSONResponse(body, status_code=429, headers={"Retry-After": "0.2"})
        return JSONResponse({"projects": []}, status_code=200)

    return Starlette(routes=[Route("/api/v1/projects", projects, methods=["GET", "POST"])])


def test_429_honours_retry_after_for_safe_requests_only() -> None:
    """A GET waits Retry-After and is sent again; a POST raises RateLimited with the wait."""

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=_rate_limited_app())
        async with AsyncClient("http://testserver", "sat-x", transport=transport) as scimitar:
            began = time.monotonic()
            assert await scimitar.list_projects() == []
            assert time.monotonic() - began >= 0.2
            with pytest.raises(RateLimited) as limited:
                await scimitar.create_project("Later")
            assert limited.value.retry_after == 0.2 and limited.value.code == "rate_limited"

    asyncio.run(scenario())


def test_a_wait_longer_than_allowed_is_not_slept() -> None:
    """Retry-After beyond `max_wait` raises at once instead of blocking the caller."""

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=_rate_limited_app())
        retries = Retries(max_wait=0.1)
        async with AsyncClient(
            "http://testserver", "sat-x", transport=transport, retries=retries
        ) as scimitar:
            with pytest.raises(RateLimited):
                await scimitar.list_projects()

    asyncio.run(scenario())
