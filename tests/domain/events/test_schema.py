"""docs/events.schema.json describes the events the domain really emits."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from scimitar.domain.access import effective
from scimitar.domain.directory import group_kinds, group_store, organizations, people, structure
from scimitar.domain.identity import keys
from scimitar.domain.models import Grant, GroupKind, OrgRole
from scimitar.storage.database import Database
from tests.domain.events.helpers import feed_of, write
from tests.domain.helpers import make_member, make_org

SCHEMA = json.loads((Path(__file__).parents[3] / "docs" / "events.schema.json").read_text())


def test_every_emitted_event_matches_the_schema(db: Database) -> None:
    """A tour of every change kind: each event validates against the documented schema."""
    with write(db) as tx:
        org = make_org(tx)
        project = structure.create_project(tx, org, "Checkout")
        admin = structure.find_role(tx, org, "Admin")
        role = structure.create_role(tx, org, "Billing", ["billing.read"])
        team = structure.create_team(tx, org, project, "Web")
        member = make_member(tx, org, "a@example.com")
        member = people.set_org_role(tx, org, member, OrgRole.ADMIN)
        group = group_store.insert_group(tx, org, GroupKind.CUSTOM, "Engineering")
        group_store.add_members(tx, org, group, [member.id])
        grant_id = group_store.add_grant(tx, org, group, Grant(project.id, role_id=admin.id))
        group_store.remove_grant(tx, org, group, grant_id)
        assignment = effective.add_direct_assignment(
            tx, org, member, Grant(project.id, role_id=role.id)
        )
        effective.remove_direct_assignment(tx, org, member, assignment)
        group = group_store.update_group(tx, org, group, display_name="Eng")
        group_store.update_group(tx, org, group, external_id="ext-1")
        group_store.remove_members(tx, org, group, [member.id])
        member = people.set_active(tx, org, member, False)
        member = people.set_active(tx, org, member, True)
        structure.set_default_role(tx, org, project, "Read-Only")
        structure.rename_project(tx, org, project, "Pay")
        structure.delete_team(tx, org, team)
        structure.delete_role(tx, org, role)
        keys.generate_scim_key(tx, org)
        keys.regenerate_scim_key(tx, org)
        keys.deactivate_scim_key(tx, org)
        _, token = keys.create_api_token(tx, org, "t")
        keys.revoke_api_token(tx, org, token.id)
        organizations.update_settings(tx, org, name="Renamed")
        group_kinds.delete_group(tx, org, group)
        people.remove_member(tx, org, member)
        structure.delete_project(tx, org, structure.find_project(tx, org, "Pay"))
    found = feed_of(db, org)
    documented = set(SCHEMA["properties"]["type"]["enum"])
    assert {e.type for e in found} == documented
    for event in found:
        jsonschema.validate(json.loads(json.dumps(event.to_json(), default=str)), SCHEMA)
