"""Sealed secrets: AES-GCM under a key derived from the deployment's secret key."""

from __future__ import annotations

import pytest

from scimitar.domain.identity.sealing import Sealer, SealError, is_sealed


def test_round_trip_and_no_clear_text() -> None:
    """A sealed value opens to the plain text and does not contain it."""
    sealer = Sealer("k" * 40)
    sealed = sealer.seal("whsec-very-secret", context="webhook:1")
    assert is_sealed(sealed)
    assert "whsec-very-secret" not in sealed
    assert sealer.unseal(sealed, context="webhook:1") == "whsec-very-secret"


def test_two_seals_differ() -> None:
    """Each seal takes a fresh nonce: the same secret never seals to the same text."""
    sealer = Sealer("k" * 40)
    assert sealer.seal("x", context="c") != sealer.seal("x", context="c")


def test_context_is_bound() -> None:
    """A sealed value copied into another row (another context) does not open."""
    sealer = Sealer("k" * 40)
    sealed = sealer.seal("x", context="webhook:1")
    with pytest.raises(SealError):
        sealer.unseal(sealed, context="webhook:2")


def test_tampering_is_detected() -> None:
    """A changed character anywhere in the body is refused."""
    sealer = Sealer("k" * 40)
    sealed = sealer.seal("secret", context="c")
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(SealError):
        sealer.unseal(flipped, context="c")


def test_another_key_does_not_open() -> None:
    """A value sealed under one secret key names that key; another key refuses it."""
    sealed = Sealer("a" * 40).seal("secret", context="c")
    with pytest.raises(SealError, match="unknown key"):
        Sealer("b" * 40).unseal(sealed, context="c")


def test_rotation_opens_older_and_reseals() -> None:
    """During a rotation the older key still opens; values under it need resealing."""
    old = Sealer("a" * 40).seal("secret", context="c")
    rotating = Sealer("b" * 40, older=("a" * 40,))
    assert rotating.unseal(old, context="c") == "secret"
    assert rotating.needs_reseal(old)
    assert not rotating.needs_reseal(rotating.seal("secret", context="c"))
    assert rotating.needs_reseal("whsec-in-clear")
