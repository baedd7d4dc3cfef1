"""Which SCIM User attributes a `members` row keeps in columns of its own, declared once:
the write path fills them from the document (`member_row`), filters and sorting read them
(`storage.filters.attributes`). A caseExact=false value is kept folded (`str.lower`) in a
`*_key` column, so lookups and uniqueness are Unicode-correct on both engines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column

from scimitar.storage.tables import members


@dataclass(frozen=True)
class StoredAttribute:
    #: The SCIM attribute path, as filters name it (`name.givenName`).
    path: str
    #: The column holding it as sent; None when only the folded key is kept.
    column: Column[Any] | None
    #: The column holding its fold (`str.lower`); None for a caseExact attribute.
    key: Column[Any] | None

    def value(self, document: dict[str, Any]) -> Any:
        head, _, sub = self.path.partition(".")
        value = document.get(head)
        if sub:
            value = value.get(sub) if isinstance(value, dict) else None
        return value if isinstance(value, str) else None


USER_COLUMNS: tuple[StoredAttribute, ...] = (
    StoredAttribute("userName", members.c.user_name, members.c.user_name_key),
    StoredAttribute("externalId", members.c.external_id, None),
    StoredAttribute("displayName", members.c.display_name, members.c.display_name_key),
    StoredAttribute("name.givenName", None, members.c.given_name_key),
    StoredAttribute("name.familyName", None, members.c.family_name_key),
)


def member_row(document: dict[str, Any]) -> dict[str, Any]:
    """The column values of a User document (`attributes` holds the whole document)."""
    row: dict[str, Any] = {"attributes": document}
    for stored in USER_COLUMNS:
        value = stored.value(document)
        if stored.column is not None:
            row[stored.column.name] = value
        if stored.key is not None:
            row[stored.key.name] = value.lower() if value else None
    return row


def member_row_columns() -> tuple[str, ...]:
    """The names of the columns `member_row` fills (`attributes` included)."""
    names = [c.name for s in USER_COLUMNS for c in (s.column, s.key) if c is not None]
    return ("attributes", *names)


def filter_column(path: str) -> tuple[Column[Any], bool]:
    """The column a filter on `path` compares with, and whether it holds folded values
    (the key column when there is one)."""
    [stored] = [s for s in USER_COLUMNS if s.path == path]
    if stored.key is not None:
        return stored.key, True
    assert stored.column is not None
    return stored.column, False
