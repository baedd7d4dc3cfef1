"""Buckets in Redis (`SCIMITAR_REDIS_URL`): shared by every process on every host. One
Lua script per check, so that reading and spending a bucket is one atomic round trip; the
time is Redis's own (`TIME`), one clock for every host."""

from __future__ import annotations

from typing import Any

import redis

from scimitar.runtime.rate_limits.buckets import Decision

_TAKE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1])
local stamp = tonumber(state[2])
if tokens == nil or stamp == nil then
  tokens = capacity
else
  tokens = math.min(capacity, tokens + math.max(0, now - stamp) * rate)
end
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = (1 - tokens) / rate
end
-- '%.17g': every digit of the double (tostring keeps 14, and a stamp rounded up to the
-- 0.1 ms would be "in the future" for the next call).
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),
  'stamp', string.format('%.17g', now))
-- A bucket refills in capacity / rate seconds; after that it is as good as absent.
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return {allowed, tostring(wait)}
"""
#: Every key of ours starts with this (a Redis shared with other software).
KEY_PREFIX = "scimitar:rate:"


class RedisStore:
    def __init__(self, url: str, *, timeout: float = 0.5) -> None:
        self.client: Any = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._take = self.client.register_script(_TAKE)

    def take(self, bucket: str, rate: float, capacity: float) -> Decision:
        allowed, wait = self._take(keys=[KEY_PREFIX + bucket], args=[rate, capacity])
        return Decision(bool(allowed), float(wait))

    def close(self) -> None:
        self.client.close()
