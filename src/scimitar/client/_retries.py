"""When a failed request is sent again, and after how long."""

from __future__ import annotations

import random
from dataclasses import dataclass

from scimitar.client._exceptions import RateLimited, ScimitarError, retry_after
from scimitar.client._operations import Operation


@dataclass(frozen=True)
class Retries:
    """Retry policy: only requests safe to repeat (GET, and the idempotent PUT and
    DELETE; never POST or PATCH), only after a connection failure, a 429 or a 503; at most
    `attempts` more times, waiting `backoff` seconds doubled each time (with jitter), or
    what `Retry-After` says, but never longer than `max_wait` (longer: give up at once)."""

    attempts: int = 3
    backoff: float = 0.5
    max_wait: float = 60.0

    def delay(
        self, operation: Operation, attempt: int, error: ScimitarError | None
    ) -> float | None:
        """Seconds to wait before sending again, or None to give up. `attempt` counts the
        retries already made; `error` is None for a connection failure."""
        if not operation.retryable or attempt >= self.attempts:
            return None
        backoff = self.backoff * 2.0**attempt * random.uniform(0.5, 1.0)
        if error is None:
            return backoff
        if isinstance(error, RateLimited) or error.status == 503:
            wait = _retry_after(error)
            wait = backoff if wait is None else wait
            return wait if wait <= self.max_wait else None
        return None


def _retry_after(error: ScimitarError) -> float | None:
    if isinstance(error, RateLimited):
        return error.retry_after
    return None if error.response is None else retry_after(error.response)
