"""Settings, read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from scimitar.domain.events.addresses import AllowList
from scimitar.domain.identity.sealed_secrets import deployment_sealer
from scimitar.domain.identity.sealing import Sealer
from scimitar.storage.database import DEFAULT_STATEMENT_TIMEOUT_MS, DEFAULT_URL, Database


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_URL
    #: The URL the world reaches this server at; `meta.location` and the setup page use it.
    public_url: str = "http://127.0.0.1:8000"
    #: Largest request body the SCIM API reads, in bytes.
    max_body_bytes: int = 1_048_576
    #: Signs console form tokens; when unset, one is generated and kept in the database so
    #: that every process behind a load balancer shares it.
    secret_key: str | None = None
    #: When set, `/metrics` answers only requests bearing it.
    metrics_token: str | None = None
    #: `text` or `json` (one object per line): see `runtime.logs`.
    log_format: str = "text"
    #: One log line per HTTP request (logger `scimitar.access`).
    access_log: bool = False
    #: Longest a database statement may run before it is stopped (the request gets a 503);
    #: 0 = no limit.
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS
    #: Requests per second per SCIM key / per admin API token (`SCIMITAR_SCIM_RATE_LIMIT`,
    #: `SCIMITAR_API_RATE_LIMIT`); None: the default (`rate_limits.buckets`); 0: off.
    scim_rate_limit: int | None = None
    api_rate_limit: int | None = None
    #: Where every process counts rate limits (`SCIMITAR_REDIS_URL`); see `rate_limits`.
    redis_url: str | None = None
    #: Hosts or CIDRs (comma-separated) webhooks may reach although they resolve to
    #: loopback or private addresses (`SCIMITAR_WEBHOOK_ALLOWED_HOSTS`).
    webhook_allowed_hosts: str = ""
    #: Per-attempt timeout, first retry delay (doubling), and when to give up.
    webhook_timeout: float = 10.0
    webhook_backoff_seconds: float = 30.0
    webhook_retry_hours: float = 72.0
    #: Store a transaction's like events as one row (`SCIMITAR_EVENT_RUNS`, default on); off
    #: while a process of a release before migration 0011 may still run (docs/deployment.md).
    event_runs: bool = True
    #: Seals secrets at rest; set by `with_sealer` once the database is at hand (the key may
    #: be the one generated and stored there).
    sealer_: Sealer | None = field(default=None, compare=False, repr=False)

    @property
    def sealer(self) -> Sealer:
        if self.sealer_ is None:
            raise RuntimeError("Settings.with_sealer(db) must run before secrets are sealed")
        return self.sealer_

    @cached_property  # read by every admin and console request: parsed once
    def webhook_hosts(self) -> AllowList:
        """The internal hosts webhooks may reach (checked at creation and delivery)."""
        return AllowList.parse(self.webhook_allowed_hosts)

    def with_sealer(self, db: Database) -> Settings:
        """These settings with the deployment's `Sealer` (which seals any clear value left)."""
        if self.sealer_ is not None:
            return self
        return replace(self, sealer_=deployment_sealer(db, self.secret_key))

    def to_env(self) -> dict[str, str]:
        """These settings as the environment `from_env` reads (for server processes)."""
        env = {
            "SCIMITAR_DATABASE_URL": self.database_url,
            "SCIMITAR_PUBLIC_URL": self.public_url,
            "SCIMITAR_MAX_BODY_BYTES": str(self.max_body_bytes),
        }
        if self.secret_key:
            env["SCIMITAR_SECRET_KEY"] = self.secret_key
        if self.metrics_token:
            env["SCIMITAR_METRICS_TOKEN"] = self.metrics_token
        for name, value in (
            ("SCIMITAR_SCIM_RATE_LIMIT", self.scim_rate_limit),
            ("SCIMITAR_API_RATE_LIMIT", self.api_rate_limit),
            ("SCIMITAR_REDIS_URL", self.redis_url),
        ):
            if value is not None:
                env[name] = str(value)
        env["SCIMITAR_LOG_FORMAT"] = self.log_format
        env["SCIMITAR_ACCESS_LOG"] = "1" if self.access_log else "0"
        env["SCIMITAR_STATEMENT_TIMEOUT_MS"] = str(self.statement_timeout_ms)
        env["SCIMITAR_EVENT_RUNS"] = "1" if self.event_runs else "0"
        return env

    @classmethod
    def from_env(cls, **overrides: str | None) -> Settings:
        values = {
            "database_url": os.environ.get("SCIMITAR_DATABASE_URL", DEFAULT_URL),
            "public_url": os.environ.get("SCIMITAR_PUBLIC_URL", cls.public_url),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        max_body = int(os.environ.get("SCIMITAR_MAX_BODY_BYTES", cls.max_body_bytes))
        timeout = os.environ.get("SCIMITAR_STATEMENT_TIMEOUT_MS", "").strip()
        return cls(
            database_url=values["database_url"],
            public_url=values["public_url"].rstrip("/"),
            max_body_bytes=max_body,
            secret_key=os.environ.get("SCIMITAR_SECRET_KEY") or None,
            metrics_token=os.environ.get("SCIMITAR_METRICS_TOKEN") or None,
            log_format=os.environ.get("SCIMITAR_LOG_FORMAT", cls.log_format).strip().lower(),
            access_log=os.environ.get("SCIMITAR_ACCESS_LOG", "").strip().lower()
            in ("1", "true", "yes", "on"),
            statement_timeout_ms=int(timeout) if timeout else cls.statement_timeout_ms,
            scim_rate_limit=_rate("SCIMITAR_SCIM_RATE_LIMIT"),
            api_rate_limit=_rate("SCIMITAR_API_RATE_LIMIT"),
            redis_url=os.environ.get("SCIMITAR_REDIS_URL") or None,
            webhook_allowed_hosts=os.environ.get("SCIMITAR_WEBHOOK_ALLOWED_HOSTS", ""),
            webhook_timeout=_number("SCIMITAR_WEBHOOK_TIMEOUT", cls.webhook_timeout),
            webhook_backoff_seconds=_number(
                "SCIMITAR_WEBHOOK_BACKOFF_SECONDS", cls.webhook_backoff_seconds
            ),
            webhook_retry_hours=_number("SCIMITAR_WEBHOOK_RETRY_HOURS", cls.webhook_retry_hours),
            event_runs=os.environ.get("SCIMITAR_EVENT_RUNS", "1").strip().lower()
            not in ("0", "false", "no", "off"),
        )

    def database(self, **options: Any) -> Database:
        """The database these settings name (`options`: `Database`'s others)."""
        return Database(self.database_url, event_runs=self.event_runs, **options)


class SettingsError(ValueError):
    """A setting of the environment that cannot be used (the message names it)."""


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number") from None
    if not value > 0:
        raise SettingsError(f"{name} must be more than 0")
    return value


def _rate(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) > 1_000_000:
        raise SettingsError(f"{name} must be a whole number of requests per second, 0 for off")
    return int(raw)
