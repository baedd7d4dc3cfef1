"""Redis for the rate-limit tests that need it (`SCIMITAR_TEST_REDIS_URL`, default the local
server): skipped when it does not answer, except in CI, where that is a failure."""

from __future__ import annotations

import os

import pytest
import redis

REDIS_URL = os.environ.get("SCIMITAR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no Redis at {REDIS_URL}")
    return REDIS_URL
