"""Server logs on standard error: readable text, or one JSON object per line.

`SCIMITAR_LOG_FORMAT=json` gives structured logs for a log shipper: `time` (UTC, RFC 3339),
`level`, `logger`, `message`, the record's own fields (the access log's `method`, `path`,
`status`, `duration_ms`, `face`) and `exception` when there is one. Nothing Scimitar logs
holds a key, a token, a password or a request body; database errors appear without the
values of their statement or PostgreSQL's DETAIL (which quotes rows).
"""

from __future__ import annotations

import logging
import sqlite3
import traceback
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.exc import DBAPIError

FORMATS = ("text", "json")

# What every LogRecord carries; anything else was passed in `extra=` and is logged too.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "color_message", "taskName"}
)


def safe_exception(exc_info: Any) -> str:
    """A traceback whose database errors keep their first line and their SQL but lose the
    rest: PostgreSQL's DETAIL quotes the offending row or key (people's addresses, webhook
    secrets)."""
    lines: list[str] = []
    seen: set[int] = set()
    exc: BaseException | None = exc_info[1]
    chain: list[BaseException] = []
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append(exc)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    for position, exc in enumerate(reversed(chain)):
        if position:
            lines.append("\nThe above exception led to:\n")
        lines.append("Traceback (most recent call last):\n")
        lines.extend(traceback.format_tb(exc.__traceback__))
        message = str(exc)
        if _from_database(exc):
            first, *rest = message.splitlines() or [""]
            message = "\n".join([first, *(line for line in rest if line.startswith("[SQL:"))])
        lines.append(f"{type(exc).__module__}.{type(exc).__qualname__}: {message}")
    return "".join(lines).rstrip("\n")


def _from_database(exc: BaseException) -> bool:
    module = type(exc).__module__
    return isinstance(exc, (DBAPIError, sqlite3.Error)) or module.startswith("psycopg")


class SafeFormatter(logging.Formatter):
    """Text lines, with database errors' details left out of tracebacks."""

    def formatException(self, ei: Any) -> str:
        return safe_exception(ei)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def formatException(self, ei: Any) -> str:
        return safe_exception(ei)

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update((k, v) for k, v in record.__dict__.items() if k not in _STANDARD)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def log_config(log_format: str = "text", level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` for the server (uvicorn takes it as `log_config`):
    Scimitar's and uvicorn's loggers to standard error, in one format."""
    if log_format not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {log_format!r}")
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"}
        if log_format == "json"
        else {
            "()": f"{__name__}.SafeFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        }
    )
    handler = {"class": "logging.StreamHandler", "formatter": "main", "stream": "ext://sys.stderr"}
    loggers = ("scimitar", "uvicorn", "uvicorn.error", "uvicorn.access")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "loggers": {
            name: {"handlers": ["main"], "level": level, "propagate": False} for name in loggers
        },
        # Everything else (asyncio, SQLAlchemy, warnings) in the same format, warnings up.
        "root": {"handlers": ["main"], "level": "WARNING"},
    }
