"""Which store counts the buckets, from the settings and the database engine.

- `SCIMITAR_REDIS_URL` set: Redis, whatever the engine (several hosts share it).
- SQLite: a file beside the database (`file_store`), shared by the processes of the one
  host SQLite lives on. Nothing to install: the quick start keeps working.
- PostgreSQL without Redis: processes may be on several hosts and nothing else is shared
  but the database, which the hot path must not ask once more per request. Limits are then
  off by default (said in the log at start), and a limit set explicitly is refused at
  start, rather than counted per process and called shared.
"""

from __future__ import annotations

import logging

from sqlalchemy import make_url

from scimitar.config import Settings, SettingsError
from scimitar.runtime.rate_limits.buckets import DEFAULT_API_RATE, DEFAULT_SCIM_RATE, Limiter
from scimitar.runtime.rate_limits.file_store import FileStore
from scimitar.storage.database import Database

log = logging.getLogger("scimitar.runtime.rate_limits")
FILE_SUFFIX = "-ratelimits"


def limiter_for(settings: Settings, db: Database) -> Limiter:
    scim = DEFAULT_SCIM_RATE if settings.scim_rate_limit is None else settings.scim_rate_limit
    api = DEFAULT_API_RATE if settings.api_rate_limit is None else settings.api_rate_limit
    if settings.redis_url is not None:
        from scimitar.runtime.rate_limits.redis_store import RedisStore

        return Limiter(RedisStore(settings.redis_url), scim_rate=scim, api_rate=api)
    if db.is_sqlite:
        path = make_url(db.url).database
        beside = path + FILE_SUFFIX if path and path != ":memory:" else None
        store = FileStore(beside)
        return Limiter(store, scim_rate=scim, api_rate=api)
    if settings.scim_rate_limit or settings.api_rate_limit:
        raise SettingsError(
            "rate limits on PostgreSQL need SCIMITAR_REDIS_URL (every process must share "
            "the count); set it, or set SCIMITAR_SCIM_RATE_LIMIT and "
            "SCIMITAR_API_RATE_LIMIT to 0"
        )
    log.warning("rate limits are off: on PostgreSQL they need SCIMITAR_REDIS_URL")
    return Limiter(None)
