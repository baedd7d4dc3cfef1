"""Ids made by the domain."""

from __future__ import annotations

import time
import uuid

from scimitar.domain.context import new_id, new_ordered_id


def test_new_id_is_a_canonical_random_uuid() -> None:
    """new_id() is a canonical lower-case version-4 RFC 4122 UUID, and never repeats."""
    ids = [new_id() for _ in range(5000)]
    for text in ids[:200]:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == text
    assert len(set(ids)) == len(ids)


def test_new_ordered_id_is_a_canonical_time_ordered_uuid() -> None:
    """new_ordered_id() is a canonical version-7 UUID; ids of later milliseconds sort after."""
    first = [new_ordered_id() for _ in range(2000)]
    time.sleep(0.002)
    later = [new_ordered_id() for _ in range(2000)]
    for text in first[:200]:
        parsed = uuid.UUID(text)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122 and str(parsed) == text
    assert len(set(first + later)) == 4000
    assert max(first) < min(later)
