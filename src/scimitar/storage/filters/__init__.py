"""SCIM filters → SQL (see `compiler`)."""

from __future__ import annotations

from scimitar.storage.filters.compiler import (
    SQLITE_FOLD,
    Equality,
    compile_filter,
    indexed_equality,
    sort_key,
    sqlite_fold,
)

__all__ = [
    "SQLITE_FOLD",
    "Equality",
    "compile_filter",
    "indexed_equality",
    "sort_key",
    "sqlite_fold",
]
