"""The one select that picks a grant (a project role or a team role) in console forms.

Each option's value names the grant: `role:<project id>:<role id>` or
`team:<project id>:<team id>:<Admin|Member>`.
"""

from __future__ import annotations

from scimitar.domain.context import Tx
from scimitar.domain.directory import structure
from scimitar.domain.errors import InvalidError
from scimitar.domain.models import Grant, Org, TeamRole


def grant_options(tx: Tx, org: Org) -> list[tuple[str, str]]:
    """(value, label) of every grant this org can give, grouped by project."""
    # Weakest first, so that the form's default gives the least access (never Owner).
    roles = sorted(structure.list_roles(tx, org), key=lambda r: (r.rank is None, r.rank or 0))
    teams = structure.list_teams(tx, org)
    options: list[tuple[str, str]] = []
    for project in structure.list_projects(tx, org):
        options += [(f"role:{project.id}:{r.id}", f"{project.name} — {r.name}") for r in roles]
        for team in (t for t in teams if t.project_id == project.id):
            options += [
                (
                    f"team:{project.id}:{team.id}:{team_role.value}",
                    f"{project.name} — team {team.name} ({team_role.value})",
                )
                for team_role in (TeamRole.MEMBER, TeamRole.ADMIN)
            ]
    return options


def parse_grant_choice(value: str) -> Grant:
    parts = value.split(":")
    if len(parts) == 3 and parts[0] == "role":
        return Grant(parts[1], role_id=parts[2])
    if len(parts) == 4 and parts[0] == "team" and parts[3] in ("Admin", "Member"):
        return Grant(parts[1], team_id=parts[2], team_role=TeamRole(parts[3]))
    raise InvalidError("Choose a project role or a team role")
