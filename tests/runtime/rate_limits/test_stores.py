"""The token bucket on each store: a burst passes, the next request waits, the wait ends."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from scimitar.runtime.rate_limits import (
    BURST_SECONDS,
    BucketStore,
    Decision,
    Face,
    Limiter,
    RateLimited,
)
from scimitar.runtime.rate_limits.file_store import FileStore
from scimitar.runtime.rate_limits.redis_store import RedisStore


@pytest.fixture(params=["file", "memory", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BucketStore]:
    made: BucketStore
    if request.param == "file":
        made = FileStore(str(tmp_path / "buckets"))
    elif request.param == "memory":
        made = FileStore(None)
    else:
        made = RedisStore(request.getfixturevalue("redis_url"))
    yield made
    made.close()


def _name() -> str:
    return f"test:{uuid.uuid4()}"


def test_a_burst_passes_then_the_next_request_waits(store: BucketStore) -> None:
    """A full bucket lets `capacity` requests through; the next is refused with the time
    until a token is back (1 / rate)."""
    bucket = _name()
    assert all(store.take(bucket, 10, 3).allowed for _ in range(3))
    refused = store.take(bucket, 10, 3)
    assert not refused.allowed
    assert 0.05 < refused.wait <= 0.1
    assert refused.retry_after == 1


def test_the_bucket_refills_at_the_rate(store: BucketStore) -> None:
    """After 1 / rate seconds one more request passes, and only one."""
    bucket = _name()
    for _ in range(2):
        store.take(bucket, 20, 2)
    assert not store.take(bucket, 20, 2).allowed
    time.sleep(0.06)
    assert store.take(bucket, 20, 2).allowed
    assert not store.take(bucket, 20, 2).allowed


def test_buckets_are_separate(store: BucketStore) -> None:
    """Spending one credential's bucket leaves another's full."""
    spent, other = _name(), _name()
    store.take(spent, 1, 1)
    assert not store.take(spent, 1, 1).allowed
    assert store.take(other, 1, 1).allowed


def test_two_openers_of_one_file_share_the_buckets(tmp_path: Path) -> None:
    """Two maps of the same file (as two server processes have) count together."""
    path = str(tmp_path / "buckets")
    first, second = FileStore(path), FileStore(path)
    try:
        bucket = _name()
        assert first.take(bucket, 1, 2).allowed
        assert second.take(bucket, 1, 2).allowed
        assert not first.take(bucket, 1, 2).allowed
        assert not second.take(bucket, 1, 2).allowed
    finally:
        first.close()
        second.close()


def test_a_full_table_forgets_the_longest_idle_bucket(tmp_path: Path) -> None:
    """More buckets than slots: each still gets its own answer (the idlest gives way)."""
    store = FileStore(str(tmp_path / "small"), slots=4)
    try:
        names = [_name() for _ in range(12)]
        assert all(store.take(name, 1, 1).allowed for name in names)
        assert not store.take(names[-1], 1, 1).allowed
    finally:
        store.close()


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    """`Retry-After` is an integer number of seconds, never 0 for a refusal."""
    assert Decision(False, 0.01).retry_after == 1
    assert Decision(False, 1.2).retry_after == 2
    assert Decision(False, 3.0).retry_after == 3


def test_limiter_rates_default_override_and_off(tmp_path: Path) -> None:
    """The org's own rate replaces the default; 0 turns the limit off; the burst is
    `BURST_SECONDS` of the rate."""
    limiter = Limiter(FileStore(None), scim_rate=1, api_rate=0)
    key = _name()
    for _ in range(BURST_SECONDS):
        limiter.check(Face.SCIM, key)
    with pytest.raises(RateLimited) as refused:
        limiter.check(Face.SCIM, key)
    assert refused.value.retry_after == 1
    for _ in range(50):
        limiter.check(Face.API, key)  # off by default here
        limiter.check(Face.SCIM, key, 0)  # off for this org
    for _ in range(2 * BURST_SECONDS):
        limiter.check(Face.API, key, 2)
    with pytest.raises(RateLimited):
        limiter.check(Face.API, key, 2)


def test_an_unreachable_store_lets_requests_through(caplog: pytest.LogCaptureFixture) -> None:
    """Redis down: requests pass (the service stays up) and the log says so once."""
    limiter = Limiter(RedisStore("redis://127.0.0.1:1/0", timeout=0.2), scim_rate=1)
    with caplog.at_level(logging.ERROR, "scimitar.runtime.rate_limits"):
        for _ in range(20):
            limiter.check(Face.SCIM, "key")
    assert len([r for r in caplog.records if "rate-limit store failed" in r.message]) == 1


def test_concurrent_takes_spend_the_bucket_once(store: BucketStore) -> None:
    """16 threads at once: no more requests pass than the bucket and its refill allow (a
    lost update or a stamp read as "in the future" would refill it)."""
    bucket = _name()
    began = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        allowed = list(pool.map(lambda _: store.take(bucket, 20, 100).allowed, range(400)))
    elapsed = time.monotonic() - began
    assert 100 <= allowed.count(True) <= 100 + 20 * elapsed + 1
