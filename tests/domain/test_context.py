"""Ids made by the domain."""

from __future__ import annotations

import uuid

from scimitar.domain.context import new_id


def test_new_id_is_a_canonical_random_uuid() -> None:
    """new_id() is a canonical lower-case version-4 RFC 4122 UUID, and never repeats."""
    ids = [new_id() for _ in range(5000)]
    for text in ids[:200]:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == text
    assert len(set(ids)) == len(ids)
