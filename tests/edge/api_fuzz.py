"""Schemathesis against the admin API's own OpenAPI document, through the ASGI app: every
operation gets generated requests (valid ones and, as many, invalid ones) and every answer
must be no 5xx and must conform to the document (status, content type, body schema).

Shared by the suite (tests/edge/test_api_fuzz.py, a few examples per operation) and the
long run (bench/fuzz.py, tens of thousands of requests per engine)."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: Operations that would end the run's own credentials or org (the fuzzer is the owner).
SPARED = {
    ("POST", "/api/v1/scim-key/deactivate"),
    ("POST", "/api/v1/org/transfer-ownership"),
    ("DELETE", "/api/v1/api-tokens/{token_id}"),
}


@dataclass
class Tally:
    """What the run sent and what came back."""

    requests: int = 0
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    failures: set[str] = field(default_factory=set)


def fuzz_admin_api(app: Any, token: str, examples: int, *, seed: int | None = None) -> Tally:
    """Send `examples` generated requests per operation and mode to the app's admin API."""
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    tally = Tally()
    headers = {"Authorization": f"Bearer {token}"}
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SPARED:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run(operation, mode, headers, examples, seed, tally)
    return tally


def _run(
    operation: Any,
    mode: GenerationMode,
    headers: dict[str, str],
    examples: int,
    seed: int | None,
    tally: Tally,
) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy(generation_mode=mode))
    def send(case: Any) -> None:
        if isinstance(case.query, dict) and "wait" in case.query:
            case.query["wait"] = "0"  # a long poll answers when it times out: seconds each
        response = case.call(headers=headers)
        tally.requests += 1
        tally.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:  # every failure is kept, not just the first
            for failure in group.exceptions:
                label = f"{operation.method.upper()} {operation.path} {response.status_code}"
                tally.failures.add(f"{label}: {failure.title}: {failure.message}"[:500])

    (send if seed is None else hypothesis_seed(seed)(send))()
