"""SCIM filters → SQL: where attributes are stored (`attributes`), the compiler
(`compiler`), what a filter may cost (`cost`), and per-engine SQL pieces (`sql`)."""

from __future__ import annotations

from scimitar.storage.filters.attributes import Equality, indexed_equality, sort_key
from scimitar.storage.filters.compiler import compile_filter

__all__ = ["Equality", "compile_filter", "indexed_equality", "sort_key"]
