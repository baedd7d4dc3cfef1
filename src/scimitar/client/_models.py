"""What the API answers, as typed dictionaries (the JSON as it comes, with its keys typed).

Field names and meanings are those of the OpenAPI document at `/api/v1/openapi.json`.
Times are ISO 8601 strings in UTC.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

JsonObject = dict[str, Any]


class Org(TypedDict):
    id: str
    slug: str
    name: str
    allowed_domains: list[str]
    group_prefix: str
    email_changes: Literal["allow", "reject"]
    custom_groups: Literal["allow", "reject"]
    provisioning_mode: Literal["live", "dry_run"]
    created: str
    last_modified: str


class OrgPage(TypedDict):
    """A page of `GET /orgs` (operator)."""

    orgs: list[JsonObject]
    total: NotRequired[int]
    limit: NotRequired[int]
    offset: NotRequired[int]


class ScimKey(TypedDict):
    id: str
    hint: str
    active: bool
    created_by: str
    created: str
    last_used: str | None
    deactivated: str | None


class ScimKeyStatus(TypedDict):
    status: Literal["enabled", "not_enabled"]
    scim_base_url: str
    key: ScimKey | None
    #: Only in the answer that generated the key.
    secret: NotRequired[str]


class ApiToken(TypedDict):
    id: str
    name: str
    hint: str
    active: bool
    created_by: str
    created: str
    last_used: str | None
    #: Only in the answer that created the token (org admin API).
    secret: NotRequired[str]


class NewToken(TypedDict):
    """An org admin token made by the operator: `token` (`sat-…`) is shown once."""

    id: str
    token: str


class SetupLink(TypedDict):
    id: str
    url: NotRequired[str]
    expires_at: str


class Member(TypedDict):
    id: str
    user_name: str
    display_name: str | None
    given_name: str | None
    family_name: str | None
    emails: list[str]
    external_id: str | None
    active: bool
    status: Literal["active", "deactivated"]
    org_role: Literal["Owner", "Admin", "Member"]
    source: str
    created: str
    last_modified: str


class Reason(TypedDict):
    via: Literal["role group", "team group", "custom group", "direct assignment"]
    group_id: str | None
    group_name: str | None
    role: str | None
    team: str | None
    team_role: str | None


class TeamMembership(TypedDict):
    team: str
    team_role: Literal["Admin", "Member"]


class ProjectAccess(TypedDict):
    project_id: str
    project: str
    role: str | None
    custom_roles: list[str]
    permissions: list[str]
    teams: list[TeamMembership]
    reasons: list[Reason]


class Grant(TypedDict):
    id: str
    project_id: str
    project: str
    role_id: str | None
    role: str | None
    team_id: str | None
    team: str | None
    team_role: str | None
    description: str


class MemberGroup(TypedDict):
    id: str
    display_name: str
    kind: Literal["role", "team", "custom"]


class MemberDetail(Member):
    access: list[ProjectAccess]
    groups: list[MemberGroup]
    assignments: list[Grant]


class MemberPage(TypedDict):
    members: list[Member]
    total: int
    limit: int
    offset: int


class Team(TypedDict):
    id: str
    project_id: str
    name: str


class Project(TypedDict):
    id: str
    name: str
    default_role_id: str
    default_role: str | None
    teams: list[Team]


class Role(TypedDict):
    id: str
    name: str
    builtin: bool
    permissions: list[str]


class Group(TypedDict):
    id: str
    display_name: str
    kind: Literal["role", "team", "custom"]
    member_count: int
    external_id: str | None
    project_id: str | None
    role_id: str | None
    team_id: str | None
    team_role: str | None
    created: str
    last_modified: str


class GroupDetail(Group):
    grants: list[Grant]
    members: list[Member]
    members_page: JsonObject


class GroupPage(TypedDict):
    groups: list[Group]
    total: int
    limit: int
    offset: int


class GrantPreview(TypedDict):
    changes: list[JsonObject]


class AccessCheck(TypedDict):
    """One question for `check_access`: `member` (id or userName) and `project` (id or
    name), with either `role` (that role or a stronger built-in one) or `permission`."""

    member: str
    project: str
    role: NotRequired[str]
    permission: NotRequired[str]


class AccessResult(TypedDict):
    allowed: bool
    role: str | None
    permissions: list[str]
    reasons: list[str]


class AuditPage(TypedDict):
    entries: list[JsonObject]
    next_before: int | None


class ProvisioningPage(TypedDict):
    entries: list[JsonObject]
    next_before: int | None


class Actor(TypedDict):
    kind: str
    id: str | None
    label: str


class Event(TypedDict):
    id: str
    seq: int
    type: str
    time: str
    org_id: str
    actor: Actor
    resource: JsonObject
    data: JsonObject
    changed: NotRequired[list[str] | None]
    request_id: NotRequired[int | None]


class EventPage(TypedDict):
    events: list[Event]
    next_after: int


class RequestEvents(TypedDict):
    request_id: int
    events: list[Event]


class Webhook(TypedDict):
    id: str
    url: str
    events: list[str]
    enabled: bool
    created: str
    last_modified: str
    #: The signing secret: only in the answer that created the endpoint.
    secret: NotRequired[str]


class Delivery(TypedDict):
    id: str
    endpoint_id: str
    event_id: str
    event_seq: int
    state: Literal["pending", "succeeded", "failed"]
    attempts: int
    next_attempt: str | None
    created: str
    completed: str | None
    log: list[JsonObject]
