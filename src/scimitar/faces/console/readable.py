"""Values as a person reads them on a console page."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, unquote_plus


def readable_path(path: str) -> str:
    """A logged request path with its query string decoded: `filter=userName eq "ada"`,
    not `filter=userName%20eq%20%22ada%22` (for display only; links keep the id)."""
    base, mark, query = path.partition("?")
    return unquote(base) + mark + unquote_plus(query)


def readable_request(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "path_shown": readable_path(entry["path"])}
