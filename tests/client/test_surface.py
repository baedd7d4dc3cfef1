"""The client's public surface: what it exports, and one method per API operation."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import httpx

import scimitar.client
from scimitar.client import OPERATIONS, AsyncClient, Client
from tests.client.conftest import Live

ROOT = Path(__file__).resolve().parents[2]


def _template(path: str) -> str:
    return re.sub(r"{\w+}", "{}", path)


def test_exports_are_sorted_and_public() -> None:
    """`__all__` is sorted (constants, classes, functions) and names exactly the public
    members of the package."""
    exported = scimitar.client.__all__
    kind = {True: 0, False: 1}
    assert exported == sorted(exported, key=lambda n: (kind[n.isupper()], n[0].islower(), n))
    public = {name for name in vars(scimitar.client) if not name.startswith("_")}
    assert set(exported) == public


def test_every_served_operation_has_a_client_method(live: Live) -> None:
    """Each operation of the served /api/v1/openapi.json (method + path template) is in
    the client's table, under a method both clients have."""
    document = httpx.get(f"{live.base}/api/v1/openapi.json").json()
    served = {
        (method.upper(), _template(path))
        for path, operations in document["paths"].items()
        for method in operations
    }
    declared = {(op.method, _template(op.path)) for op in OPERATIONS.values()}
    assert served - declared == set()
    for name in OPERATIONS:
        assert inspect.iscoroutinefunction(getattr(AsyncClient, name)), name
        sync = inspect.signature(getattr(Client, name))
        assert sync == inspect.signature(getattr(AsyncClient, name)), name


def test_the_blocking_client_is_generated_from_the_async_one() -> None:
    """`_client.py` is exactly what scripts/generate-client makes of `_async_client.py`."""
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate-client"), "--check"],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
