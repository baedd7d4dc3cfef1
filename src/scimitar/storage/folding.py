"""Case folding for caseExact=false values: `str.lower`, the fold of the `*_key` columns.

SQLite's lower() folds ASCII only, so every SQLite connection registers `scimitar_fold`
(`sqlite_fold`) and SQL that folds a value inside the database calls it there.
"""

from __future__ import annotations

__all__ = ["SQLITE_FOLD", "sqlite_fold"]

SQLITE_FOLD = "scimitar_fold"


def sqlite_fold(value: object) -> object:
    """`scimitar_fold` on SQLite: `str.lower`, the fold of the `*_key` columns."""
    return value.lower() if isinstance(value, str) else value
