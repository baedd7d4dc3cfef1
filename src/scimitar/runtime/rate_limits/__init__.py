"""Rate limits: a token bucket per SCIM key and per admin API token, counted in a store that
every process of the deployment shares (see `limiter`)."""

from scimitar.runtime.rate_limits.buckets import (
    BURST_SECONDS,
    DEFAULT_API_RATE,
    DEFAULT_SCIM_RATE,
    BucketStore,
    Decision,
    Face,
    Limiter,
    RateLimited,
)
from scimitar.runtime.rate_limits.setup import limiter_for

__all__ = [
    "BURST_SECONDS",
    "DEFAULT_API_RATE",
    "DEFAULT_SCIM_RATE",
    "BucketStore",
    "Decision",
    "Face",
    "Limiter",
    "RateLimited",
    "limiter_for",
]
