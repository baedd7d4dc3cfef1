"""What the domain hands to the faces: plain, immutable records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class OrgRole(StrEnum):
    OWNER = "Owner"
    ADMIN = "Admin"
    MEMBER = "Member"


class GroupKind(StrEnum):
    ROLE = "role"
    TEAM = "team"
    CUSTOM = "custom"


class TeamRole(StrEnum):
    ADMIN = "Admin"
    MEMBER = "Member"


class Policy(StrEnum):
    """An org switch for a leniency (`email_changes`, `custom_groups`)."""

    ALLOW = "allow"
    REJECT = "reject"


class ProvisioningMode(StrEnum):
    """`dry_run`: SCIM writes are answered as usual, logged, and not committed."""

    LIVE = "live"
    DRY_RUN = "dry_run"


BUILTIN_ROLES: dict[str, int] = {"Owner": 4, "Admin": 3, "Member": 2, "Read-Only": 1}


@dataclass(frozen=True)
class Org:
    id: str
    slug: str
    name: str
    allowed_domains: tuple[str, ...]
    group_prefix: str
    email_changes: Policy
    custom_groups: Policy
    provisioning_mode: ProvisioningMode
    created: datetime
    last_modified: datetime

    def allows_email(self, address: str) -> bool:
        """Whether an email address (or userName) passes the org's domain gate."""
        if not self.allowed_domains:
            return True
        _, at, domain = address.rpartition("@")
        if not at:
            return False
        domain = domain.lower()
        return any(domain == d or domain.endswith("." + d) for d in self.allowed_domains)


@dataclass(frozen=True)
class Member:
    id: str
    org_id: str
    seq: int
    user_name: str
    external_id: str | None
    display_name: str | None
    active: bool
    org_role: OrgRole
    source: str
    attributes: dict[str, Any]
    version: int
    created: datetime
    last_modified: datetime


@dataclass(frozen=True)
class Role:
    id: str
    org_id: str
    name: str
    rank: int | None
    permissions: tuple[str, ...]

    @property
    def builtin(self) -> bool:
        return self.rank is not None


@dataclass(frozen=True)
class Project:
    id: str
    org_id: str
    name: str
    default_role_id: str


@dataclass(frozen=True)
class Team:
    id: str
    org_id: str
    project_id: str
    name: str


@dataclass(frozen=True)
class Group:
    id: str
    org_id: str
    seq: int
    kind: GroupKind
    display_name: str
    external_id: str | None
    project_id: str | None
    role_id: str | None
    team_id: str | None
    team_role: TeamRole | None
    attributes: dict[str, Any]
    version: int
    created: datetime
    last_modified: datetime


@dataclass(frozen=True)
class Grant:
    """A project role (role_id) or a team membership (team_id + team_role)."""

    project_id: str
    role_id: str | None = None
    team_id: str | None = None
    team_role: TeamRole | None = None

    @classmethod
    def of_row(cls, row: Any) -> Grant:
        """The grant a `group_grants` or `direct_assignments` row holds."""
        team_role = TeamRole(row.team_role) if row.team_role else None
        return cls(row.project_id, row.role_id, row.team_id, team_role)

    def columns(self) -> dict[str, str | None]:
        """The grant as the columns of `group_grants` and `direct_assignments` hold it."""
        return {
            "project_id": self.project_id,
            "role_id": self.role_id,
            "team_id": self.team_id,
            "team_role": self.team_role.value if self.team_role else None,
        }
