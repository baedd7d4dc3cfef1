"""Organizations: creation, settings, the one Owner."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from scimitar.domain.context import Tx
from scimitar.domain.directory import organizations, people, structure
from scimitar.domain.errors import ConflictError, InvalidError
from scimitar.domain.models import OrgRole
from scimitar.storage.tables import audit_log
from tests.domain.helpers import make_org


def test_create_org_makes_builtin_roles_and_owner(tx: Tx) -> None:
    """A new org has the four built-in roles and exactly one Owner, its creator."""
    org = organizations.create_org(
        tx, name="Acme Inc", owner_email="Boss@Example.com", domains=["Example.COM"]
    )
    assert org.slug == "acme-inc"
    assert org.allowed_domains == ("example.com",)
    assert org.group_prefix == "Scimitar"
    assert [r.name for r in structure.list_roles(tx, org)] == [
        "Owner",
        "Admin",
        "Member",
        "Read-Only",
    ]
    owner = people.find_member(tx, org, "boss@example.com")
    assert owner is not None and owner.org_role is OrgRole.OWNER and owner.active


def test_duplicate_slug_is_refused(tx: Tx) -> None:
    """Slugs are unique across the installation."""
    make_org(tx, "acme")
    with pytest.raises(ConflictError, match="already exists"):
        make_org(tx, "acme")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("slug", "Bad Slug", "Slug"),
        ("owner_email", "not-an-email", "valid email"),
        ("owner_email", "a@b", "valid email"),
        ("domains", ["exa mple.com"], "valid email domain"),
        ("name", "   ", "must not be empty"),
        ("group_prefix", "Has-Hyphen", "Group prefix"),
    ],
)
def test_bad_org_input_is_refused(tx: Tx, field: str, value: object, message: str) -> None:
    """Malformed org settings are refused with a message that names the problem."""
    kwargs: dict[str, object] = {"name": "Acme", "owner_email": "o@example.com", field: value}
    with pytest.raises(InvalidError, match=message):
        organizations.create_org(tx, **kwargs)  # type: ignore[arg-type]
    assert organizations.list_orgs(tx) == []


def test_settings_change_is_audited_and_prefix_renames_groups(tx: Tx) -> None:
    """A new group prefix renames every role and team group; the change is audited."""
    org = make_org(tx)
    project = structure.create_project(tx, org, "Checkout")
    structure.create_team(tx, org, project, "Web")
    org = organizations.update_settings(tx, org, group_prefix="Acme", email_changes="reject")
    from scimitar.domain.directory import group_store

    names = sorted(g.display_name for g in group_store.list_groups(tx, org))
    assert "Acme-Checkout-Admin" in names and "Acme-Checkout-Web-Member" in names
    assert not any(n.startswith("Scimitar-") for n in names)
    actions = tx.conn.execute(select(audit_log.c.action, audit_log.c.actor_kind)).all()
    assert ("org.updated", "cli") in actions


def test_bad_policy_value_is_refused(tx: Tx) -> None:
    """Policies take only their documented values."""
    org = make_org(tx)
    with pytest.raises(InvalidError, match="email_changes"):
        organizations.update_settings(tx, org, email_changes="sometimes")
