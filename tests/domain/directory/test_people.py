"""Members and their lifecycle (PRODUCT.md §1)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from scimitar.domain.access import effective, grants
from scimitar.domain.context import CLI_ACTOR, Actor, ActorKind, Tx
from scimitar.domain.directory import group_store, people, structure
from scimitar.domain.errors import (
    AuthError,
    ConflictError,
    InvalidError,
    NotFoundError,
    PolicyError,
)
from scimitar.domain.identity import credentials, sessions
from scimitar.domain.models import Grant, GroupKind, OrgRole, TeamRole
from scimitar.protocol.schema import SCIMITAR_USER
from scimitar.storage.database import Database
from scimitar.storage.tables import (
    direct_assignments,
    group_members,
    member_emails,
)
from scimitar.storage.tables import (
    members as members_table,
)
from tests.domain.helpers import make_member, make_org, user_doc

SCIM = Actor(ActorKind.SCIM_KEY, "scim key …abcd", "k1")


def test_create_member_defaults_to_member_role_and_active(tx: Tx) -> None:
    """POST /Users adds an active member with org role Member unless the request sets one."""
    org = make_org(tx)
    member = make_member(tx, org, "Alice@Example.com")
    assert member.active and member.org_role is OrgRole.MEMBER
    assert member.user_name == "Alice@Example.com"
    assert people.find_member(tx, org, "alice@EXAMPLE.com") == member
    doc = people.document(member)
    assert doc[SCIMITAR_USER] == {"orgRole": "Member"} and doc["active"] is True


def test_user_name_is_unique_case_insensitively(tx: Tx) -> None:
    """userName is unique per org regardless of case."""
    org = make_org(tx)
    make_member(tx, org, "bob@example.com")
    with pytest.raises(ConflictError, match="already exists"):
        make_member(tx, org, "BOB@example.com")


def test_same_user_name_in_two_orgs_is_fine(tx: Tx) -> None:
    """Uniqueness is per organization."""
    a, b = make_org(tx, "a"), make_org(tx, "b")
    make_member(tx, a, "same@example.com")
    make_member(tx, b, "same@example.com")


def test_second_owner_is_refused(tx: Tx) -> None:
    """An org has exactly one Owner: creating or promoting a second one is refused."""
    org = make_org(tx)
    doc = user_doc("c@example.com", **{SCIMITAR_USER: {"orgRole": "Owner"}})
    with pytest.raises(InvalidError, match="Cannot set multiple owners"):
        people.create_member(tx, org, doc)
    member = make_member(tx, org, "d@example.com")
    with pytest.raises(InvalidError, match="Cannot set multiple owners"):
        people.set_org_role(tx, org, member, OrgRole.OWNER)


def test_owner_guard_over_scim(tx: Tx) -> None:
    """Over SCIM the Owner cannot be deactivated, demoted or deleted."""
    org = make_org(tx)
    owner = people.find_member(tx, org, "owner@acme.example.com")
    assert owner is not None
    scim_tx = Tx(tx.conn, SCIM)
    for change in (
        lambda: people.set_active(scim_tx, org, owner, False),
        lambda: people.set_org_role(scim_tx, org, owner, OrgRole.ADMIN),
        lambda: people.remove_member(scim_tx, org, owner),
    ):
        with pytest.raises(PolicyError, match="The organization owner cannot be modified via SCIM"):
            change()
    assert people.get_member(tx, org, owner.id).active


def test_domain_gate(tx: Tx) -> None:
    """With allowed domains, a userName or email outside them is refused; subdomains pass."""
    org = make_org(tx, "gated", domains=("example.com",))
    with pytest.raises(InvalidError, match=r"User eve@evil\.com is not allowed to be created"):
        make_member(tx, org, "eve@evil.com")
    doc = user_doc("ok@example.com")
    doc["emails"].append({"value": "private@gmail.com", "type": "home"})
    with pytest.raises(InvalidError, match=r"private@gmail\.com"):
        people.create_member(tx, org, doc)
    assert make_member(tx, org, "ann@eu.example.com").active
    assert people.count_members(tx, org) == 2  # owner + ann


def test_email_change_policy(tx: Tx) -> None:
    """With email_changes=reject, changing userName or emails is refused; other edits pass."""
    from scimitar.domain.directory import organizations

    org = organizations.update_settings(tx, make_org(tx), email_changes="reject")
    member = make_member(tx, org, "carl@example.com")
    renamed = {**people.document(member), "userName": "carl2@example.com"}
    with pytest.raises(PolicyError, match="Email changes are disabled for this organization"):
        people.update_member(tx, org, member, renamed)
    edited = {**people.document(member), "displayName": "Carl"}
    assert people.update_member(tx, org, member, edited).display_name == "Carl"


def test_email_change_allowed_updates_index(tx: Tx) -> None:
    """By default email changes are allowed and the email index follows them."""
    org = make_org(tx)
    member = make_member(tx, org, "dora@example.com")
    doc = {
        **people.document(member),
        "userName": "dora@new.example.com",
        "emails": [{"value": "dora@new.example.com", "type": "work", "primary": True}],
    }
    updated = people.update_member(tx, org, member, doc)
    assert updated.version == member.version + 1
    keys = (
        tx.conn.execute(
            select(member_emails.c.value_key).where(member_emails.c.member_id == member.id)
        )
        .scalars()
        .all()
    )
    assert keys == ["dora@new.example.com"]


def test_deactivation_wipes_every_grant_kind(tx: Tx) -> None:
    """Deactivation removes role-group, team-group and custom-group memberships, direct
    assignments and the org role, but keeps the resource readable."""
    org = make_org(tx)
    project = structure.create_project(tx, org, "Checkout")
    team = structure.create_team(tx, org, project, "Web")
    member = make_member(tx, org, "erin@example.com")
    member = people.set_org_role(tx, org, member, OrgRole.ADMIN)
    role_group = group_store.find_group(tx, org, "Scimitar-Checkout-Admin")
    team_group = group_store.find_group(tx, org, "Scimitar-Checkout-Web-Member")
    custom = group_store.insert_group(tx, org, GroupKind.CUSTOM, "Engineering")
    assert role_group and team_group
    group_store.add_grant(
        tx, org, custom, Grant(project.id, role_id=structure.find_role(tx, org, "Read-Only").id)
    )
    for group in (role_group, team_group, custom):
        group_store.add_members(tx, org, group, [member.id])
    effective.add_direct_assignment(
        tx, org, member, Grant(project.id, team_id=team.id, team_role=TeamRole.ADMIN)
    )
    assert len(effective.effective_access(tx, org, member)[0].reasons) == 4

    deactivated = people.set_active(tx, org, member, False)

    assert not deactivated.active and deactivated.org_role is OrgRole.MEMBER
    assert people.get_member(tx, org, member.id).active is False
    for table in (group_members, direct_assignments):
        count = tx.conn.execute(
            select(func.count()).select_from(table).where(table.c.member_id == member.id)
        ).scalar()
        assert count == 0
    assert effective.effective_access(tx, org, deactivated) == []
    assert grants.grants_of(tx, custom), "the group's grant itself stays"

    reactivated = people.set_active(tx, org, deactivated, True)
    assert reactivated.active and effective.effective_access(tx, org, reactivated) == []


def test_an_inactive_member_holds_no_org_role(tx: Tx) -> None:
    """Created inactive, or given a role while inactive (Okta's deactivating PUT still
    carries the mapped role), a person out of the organization stays a Member; the role
    they come back with is the one the reactivating request sets, or Member."""
    tx.actor = SCIM
    org = make_org(tx)
    admin_doc = {SCIMITAR_USER: {"orgRole": "Admin"}}
    created = people.create_member(tx, org, user_doc("gone@example.com", active=False, **admin_doc))
    assert not created.active and created.org_role is OrgRole.MEMBER
    patched = people.update_member(
        tx, org, created, {**people.document(created), **admin_doc, "active": False}
    )
    assert patched.org_role is OrgRole.MEMBER
    back = people.set_active(tx, org, patched, True)
    assert back.active and back.org_role is OrgRole.MEMBER
    gone = people.set_active(tx, org, people.set_org_role(tx, org, back, OrgRole.ADMIN), False)
    again = people.update_member(
        tx, org, gone, {**people.document(gone), **admin_doc, "active": True}
    )
    assert again.active and again.org_role is OrgRole.ADMIN
    tx.actor = CLI_ACTOR  # the console, the admin API and the CLI are told, not ignored
    with pytest.raises(PolicyError, match="deactivated member holds no org role"):
        people.set_org_role(tx, org, patched, OrgRole.ADMIN)


def test_deactivation_ends_console_sign_in(tx: Tx) -> None:
    """A deactivated admin's console sessions end and their password goes: reactivated
    (even as Admin again), they need a new password to sign in."""
    org = make_org(tx)
    admin = people.set_org_role(tx, org, make_member(tx, org, "ada@example.com"), OrgRole.ADMIN)
    credentials.set_password(tx, org, admin, "correct horse battery")
    token, _ = sessions.start_session(tx, org, admin)
    deactivated = people.set_active(tx, org, admin, False)
    with pytest.raises(AuthError):
        sessions.find_session(tx, token)
    back = people.set_org_role(
        tx, org, people.set_active(tx, org, deactivated, True), OrgRole.ADMIN
    )
    with pytest.raises(AuthError):
        sessions.find_session(tx, token)
    assert isinstance(
        credentials.sign_in(tx, org, "ada@example.com", "correct horse battery"), AuthError
    )
    assert back.org_role is OrgRole.ADMIN


def test_deactivated_member_cannot_join_groups(tx: Tx) -> None:
    """Adding a deactivated or unknown id to a group is refused, naming the id."""
    org = make_org(tx)
    group = group_store.insert_group(tx, org, GroupKind.CUSTOM, "Ops")
    member = people.set_active(tx, org, make_member(tx, org, "f@example.com"), False)
    with pytest.raises(InvalidError, match=member.id):
        group_store.add_members(tx, org, group, [member.id])
    with pytest.raises(InvalidError, match="no-such-id"):
        group_store.add_members(tx, org, group, ["no-such-id"])


def test_removal_deletes_the_resource(tx: Tx) -> None:
    """A member removed in Scimitar disappears (GET → 404), memberships with it."""
    org = make_org(tx)
    member = make_member(tx, org, "gail@example.com")
    group = group_store.insert_group(tx, org, GroupKind.CUSTOM, "Ops")
    group_store.add_members(tx, org, group, [member.id])
    people.remove_member(tx, org, member)
    with pytest.raises(NotFoundError):
        people.get_member(tx, org, member.id)
    assert group_store.count_members(tx, group) == 0


def test_member_of_one_org_is_invisible_to_another(tx: Tx) -> None:
    """Lookups are scoped by organization."""
    a, b = make_org(tx, "a"), make_org(tx, "b")
    member = make_member(tx, a, "h@example.com")
    with pytest.raises(NotFoundError):
        people.get_member(tx, b, member.id)
    assert people.find_member(tx, b, "h@example.com") is None


def test_concurrent_creation_of_one_user_name_yields_one_member(db: Database) -> None:
    """Threads creating the same userName in different cases end with exactly one member and
    clean conflicts for the rest (never a duplicate, never another error)."""
    with db.write() as conn:
        org = make_org(Tx(conn, CLI_ACTOR))
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def create(i: int) -> None:
        name = "race@example.com" if i % 2 else "RACE@Example.COM"
        barrier.wait()
        try:
            with db.write() as conn:
                make_member(Tx(conn, CLI_ACTOR), org, name)
            outcomes.append("created")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["created"]
    with db.read() as conn:
        count = conn.execute(
            select(func.count())
            .select_from(members_table)
            .where(members_table.c.user_name_key == "race@example.com")
        ).scalar()
    assert count == 1
