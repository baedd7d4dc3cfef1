"""Replay every identity-provider flow in tests/fixtures/idp against a live app."""

from __future__ import annotations

import json

import pytest

from tests.faces.scim.harness import FIXTURES, Scim, replay

FLOWS = sorted(p.name for p in FIXTURES.glob("*.json"))


@pytest.mark.parametrize("flow_file", FLOWS)
def test_flow(scim: Scim, flow_file: str) -> None:
    """Each recorded client flow passes step by step, as the client itself would judge it."""
    flow = json.loads((FIXTURES / flow_file).read_text())
    failures = replay(scim, flow)
    assert not failures, "\n".join(failures)
