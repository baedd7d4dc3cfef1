"""Small builders for domain tests."""

from __future__ import annotations

from typing import Any

from scimitar.domain.context import Tx
from scimitar.domain.directory import organizations, people
from scimitar.domain.models import Member, Org


def make_org(tx: Tx, slug: str = "acme", domains: tuple[str, ...] = ()) -> Org:
    return organizations.create_org(
        tx,
        name=slug.title(),
        slug=slug,
        domains=domains,
        owner_email=f"owner@{slug}.example.com" if not domains else f"owner@{domains[0]}",
    )


def user_doc(user_name: str, **extra: Any) -> dict[str, Any]:
    return {
        "userName": user_name,
        "name": {"givenName": "Given", "familyName": "Family"},
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        **extra,
    }


def make_member(tx: Tx, org: Org, user_name: str, **extra: Any) -> Member:
    return people.create_member(tx, org, user_doc(user_name, **extra))
