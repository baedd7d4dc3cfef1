"""The client, on httpx: one method per operation of the admin and operator API.

`_client.py` (the blocking `Client`) is generated from this file by
`scripts/generate-client`; edit this one and run the script.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import Any, cast

import httpx

from scimitar.client._exceptions import ConnectionFailed, error_for
from scimitar.client._models import (
    AccessCheck,
    AccessResult,
    ApiToken,
    AuditPage,
    Delivery,
    Event,
    EventPage,
    Grant,
    GrantPreview,
    GroupDetail,
    GroupPage,
    JsonObject,
    Member,
    MemberDetail,
    MemberPage,
    NewToken,
    Org,
    OrgPage,
    Project,
    ProvisioningPage,
    RequestEvents,
    Role,
    ScimKeyStatus,
    SetupLink,
    Team,
    Webhook,
)
from scimitar.client._operations import OPERATIONS, POLL_MARGIN, api_url, json_body, query_params
from scimitar.client._retries import Retries


class AsyncClient:
    """The Scimitar API, asynchronously: `AsyncClient(base_url, token)`.

    `token` is an org admin API token (`sat-…`) or, for the tenant methods (`create_org`,
    `list_orgs`, `*_tenant*`), an operator token (`sop-…`). Errors raise the subclasses of
    `ScimitarError`; requests safe to repeat are retried as `retries` says.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 30.0,
        retries: Retries | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.retries = retries or Retries()
        self._http = httpx.AsyncClient(
            base_url=api_url(base_url),
            headers={"Authorization": f"Bearer {token}", "User-Agent": "scimitar-client"},
            timeout=timeout,
            transport=transport,
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(
        self,
        name: str,
        path: Mapping[str, str] | None = None,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        timeout: float | None = None,
    ) -> Any:
        """Send operation `name`; its JSON answer (None for 204), or raise its error."""
        operation = OPERATIONS[name]
        url = operation.url(**(path or {}))
        params = query_params(query or {})
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    operation.method,
                    url,
                    params=params,
                    json=body,
                    timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
                )
            except httpx.TransportError as exc:
                delay = self.retries.delay(operation, attempt, None)
                if delay is None:
                    raise ConnectionFailed(f"{operation.method} {url}: {exc!r}") from exc
            else:
                if response.is_success:
                    return None if response.status_code == 204 else response.json()
                error = error_for(response)
                delay = self.retries.delay(operation, attempt, error)
                if delay is None:
                    raise error
            await asyncio.sleep(delay)
            attempt += 1

    # Operator: tenants (an operator token)

    async def create_org(
        self,
        name: str,
        *,
        owner_email: str,
        slug: str | None = None,
        domains: Sequence[str] | None = None,
        owner_name: str | None = None,
        group_prefix: str | None = None,
    ) -> Org:
        """Create an organization with its Owner, built-in roles and groups."""
        body = json_body(
            name=name,
            slug=slug,
            domains=list(domains) if domains is not None else None,
            owner_email=owner_email,
            owner_name=owner_name,
            group_prefix=group_prefix,
        )
        return cast(Org, await self._call("create_org", body=body))

    async def list_orgs(
        self, *, q: str | None = None, limit: int | None = None, offset: int | None = None
    ) -> OrgPage:
        return cast(
            OrgPage, await self._call("list_orgs", query=json_body(q=q, limit=limit, offset=offset))
        )

    async def get_tenant(self, slug: str) -> Org:
        """One organization by slug."""
        return cast(Org, await self._call("get_tenant", {"slug": slug}))

    async def update_tenant(self, slug: str, **changes: Any) -> Org:
        """Change an organization's settings (the fields of `PATCH /orgs/{slug}`)."""
        return cast(Org, await self._call("update_tenant", {"slug": slug}, body=changes))

    async def delete_tenant(self, slug: str) -> None:
        """Delete an organization and everything in it."""
        await self._call("delete_tenant", {"slug": slug})

    async def create_tenant_api_token(self, slug: str, name: str) -> NewToken:
        """An org admin token (`sat-…`, shown once) for the host's backend."""
        return cast(
            NewToken,
            await self._call("create_tenant_api_token", {"slug": slug}, body={"name": name}),
        )

    async def create_tenant_setup_link(
        self, slug: str, *, expires_in: int | None = None
    ) -> SetupLink:
        """A one-time link to the org's SCIM setup page, for its IT admin."""
        body = json_body(expires_in=expires_in)
        return cast(
            SetupLink, await self._call("create_tenant_setup_link", {"slug": slug}, body=body)
        )

    async def list_tenant_setup_links(self, slug: str) -> JsonObject:
        """The org's setup links (never their secrets), newest first."""
        return cast(JsonObject, await self._call("list_tenant_setup_links", {"slug": slug}))

    async def revoke_tenant_setup_link(self, slug: str, link_id: str) -> None:
        await self._call("revoke_tenant_setup_link", {"slug": slug, "link_id": link_id})

    async def operator_audit(
        self,
        *,
        org: str | None = None,
        action: str | None = None,
        before: int | None = None,
        limit: int | None = None,
    ) -> AuditPage:
        """What operators did to organizations, newest first (`org`: one org's entries, by
        its slug; `action`: a prefix such as `org.`); pass `next_before` as `before` for
        more."""
        query = json_body(org=org, action=action, before=before, limit=limit)
        return cast(AuditPage, await self._call("operator_audit", query=query))

    # The organization (an org token)

    async def get_org(self) -> Org:
        return cast(Org, await self._call("get_org"))

    async def update_org(
        self,
        *,
        name: str | None = None,
        allowed_domains: Sequence[str] | None = None,
        group_prefix: str | None = None,
        email_changes: str | None = None,
        custom_groups: str | None = None,
        provisioning_mode: str | None = None,
    ) -> Org:
        """Change settings; what is not given stays as it is."""
        body = json_body(
            name=name,
            allowed_domains=list(allowed_domains) if allowed_domains is not None else None,
            group_prefix=group_prefix,
            email_changes=email_changes,
            custom_groups=custom_groups,
            provisioning_mode=provisioning_mode,
        )
        return cast(Org, await self._call("update_org", body=body))

    async def transfer_ownership(self, member_id: str) -> Member:
        """Make another active member the Owner (a signed-in Owner only)."""
        body = {"member_id": member_id}
        return cast(Member, await self._call("transfer_ownership", body=body))

    async def get_scim_key(self) -> ScimKeyStatus:
        return cast(ScimKeyStatus, await self._call("get_scim_key"))

    async def generate_scim_key(self) -> ScimKeyStatus:
        """Generate the SCIM key; its `secret` is in this answer only."""
        return cast(ScimKeyStatus, await self._call("generate_scim_key"))

    async def regenerate_scim_key(self) -> ScimKeyStatus:
        return cast(ScimKeyStatus, await self._call("regenerate_scim_key"))

    async def deactivate_scim_key(self) -> ScimKeyStatus:
        return cast(ScimKeyStatus, await self._call("deactivate_scim_key"))

    async def list_api_tokens(self) -> list[ApiToken]:
        return cast(list[ApiToken], (await self._call("list_api_tokens"))["tokens"])

    async def create_api_token(self, name: str | None = None) -> ApiToken:
        """A new admin API token; its `secret` is in this answer only."""
        return cast(ApiToken, await self._call("create_api_token", body=json_body(name=name)))

    async def revoke_api_token(self, token_id: str) -> None:
        await self._call("revoke_api_token", {"token_id": token_id})

    async def create_setup_link(self, *, expires_in: int | None = None) -> SetupLink:
        """A one-time link to this org's SCIM setup page, for its IT admin."""
        return cast(
            SetupLink, await self._call("create_setup_link", body=json_body(expires_in=expires_in))
        )

    async def list_setup_links(self) -> JsonObject:
        return cast(JsonObject, await self._call("list_setup_links"))

    async def revoke_setup_link(self, link_id: str) -> None:
        await self._call("revoke_setup_link", {"link_id": link_id})

    async def get_rate_limits(self) -> JsonObject:
        """The org's rate limits (requests per second per SCIM key / API token; None:
        the deployment's default)."""
        return cast(JsonObject, await self._call("get_rate_limits"))

    async def update_rate_limits(
        self, *, scim_per_second: int | None = None, api_per_second: int | None = None
    ) -> JsonObject:
        body = json_body(scim_per_second=scim_per_second, api_per_second=api_per_second)
        return cast(JsonObject, await self._call("update_rate_limits", body=body))

    async def get_sso(self) -> JsonObject:
        """The org's OpenID Connect connection for console sign-in (never its secret)."""
        return cast(JsonObject, await self._call("get_sso"))

    async def set_sso(
        self, issuer: str, client_id: str, *, client_secret: str | None = None
    ) -> JsonObject:
        """Connect (or change) the org's IdP; without `client_secret` the stored one stays."""
        body = json_body(issuer=issuer, client_id=client_id, client_secret=client_secret)
        return cast(JsonObject, await self._call("set_sso", body=body))

    async def delete_sso(self) -> None:
        await self._call("delete_sso")

    # Members and access

    async def list_members(
        self,
        *,
        q: str | None = None,
        status: str | None = None,
        role: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> MemberPage:
        query = json_body(q=q, status=status, role=role, limit=limit, offset=offset)
        return cast(MemberPage, await self._call("list_members", query=query))

    async def get_member(self, member_id: str) -> MemberDetail:
        """One member with effective access per project and the reason for each grant."""
        return cast(MemberDetail, await self._call("get_member", {"member_id": member_id}))

    async def update_member(self, member_id: str, *, org_role: str) -> MemberDetail:
        body = {"org_role": org_role}
        return cast(
            MemberDetail, await self._call("update_member", {"member_id": member_id}, body=body)
        )

    async def remove_member(self, member_id: str) -> None:
        await self._call("remove_member", {"member_id": member_id})

    async def add_assignment(
        self,
        member_id: str,
        project_id: str,
        *,
        role_id: str | None = None,
        team_id: str | None = None,
        team_role: str | None = None,
    ) -> Grant:
        """Give a member a project role (`role_id`) or a team role directly."""
        body = json_body(
            project_id=project_id, role_id=role_id, team_id=team_id, team_role=team_role
        )
        return cast(Grant, await self._call("add_assignment", {"member_id": member_id}, body=body))

    async def remove_assignment(self, member_id: str, assignment_id: str) -> None:
        path = {"member_id": member_id, "assignment_id": assignment_id}
        await self._call("remove_assignment", path)

    async def member_events(self, member_id: str) -> list[Event]:
        """One member's history, oldest first."""
        answer = await self._call("member_events", {"member_id": member_id})
        return cast(list[Event], answer["events"])

    async def check_access(self, checks: Sequence[AccessCheck]) -> list[AccessResult]:
        """Decide 1-1000 checks in one call; the results are in the order of `checks`."""
        answer = await self._call("check_access", body={"checks": list(checks)})
        return cast(list[AccessResult], answer["results"])

    async def is_allowed(
        self, member: str, project: str, *, role: str | None = None, permission: str | None = None
    ) -> bool:
        """Whether `member` holds `role` (or a stronger one) or `permission` in `project`."""
        check = cast(
            AccessCheck, json_body(member=member, project=project, role=role, permission=permission)
        )
        [result] = await self.check_access([check])
        return result["allowed"]

    # Projects, roles and teams

    async def list_projects(self) -> list[Project]:
        return cast(list[Project], (await self._call("list_projects"))["projects"])

    async def create_project(self, name: str, *, default_role: str | None = None) -> Project:
        body = json_body(name=name, default_role=default_role)
        return cast(Project, await self._call("create_project", body=body))

    async def get_project(self, project_id: str) -> Project:
        return cast(Project, await self._call("get_project", {"project_id": project_id}))

    async def update_project(
        self, project_id: str, *, name: str | None = None, default_role: str | None = None
    ) -> Project:
        body = json_body(name=name, default_role=default_role)
        return cast(
            Project, await self._call("update_project", {"project_id": project_id}, body=body)
        )

    async def delete_project(self, project_id: str) -> None:
        await self._call("delete_project", {"project_id": project_id})

    async def list_roles(self) -> list[Role]:
        """Built-in roles (with their permission sets) and custom roles."""
        return cast(list[Role], (await self._call("list_roles"))["roles"])

    async def create_role(self, name: str, permissions: Sequence[str] = ()) -> Role:
        body = {"name": name, "permissions": list(permissions)}
        return cast(Role, await self._call("create_role", body=body))

    async def delete_role(self, role_id: str) -> None:
        await self._call("delete_role", {"role_id": role_id})

    async def list_teams(self, *, project_id: str | None = None) -> list[Team]:
        answer = await self._call("list_teams", query=json_body(project_id=project_id))
        return cast(list[Team], answer["teams"])

    async def create_team(self, project_id: str, name: str) -> Team:
        body = {"project_id": project_id, "name": name}
        return cast(Team, await self._call("create_team", body=body))

    async def delete_team(self, team_id: str) -> None:
        await self._call("delete_team", {"team_id": team_id})

    # Groups and grants

    async def list_groups(
        self,
        *,
        kind: str | None = None,
        q: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> GroupPage:
        query = json_body(kind=kind, q=q, limit=limit, offset=offset)
        return cast(GroupPage, await self._call("list_groups", query=query))

    async def get_group(
        self, group_id: str, *, limit: int | None = None, offset: int | None = None
    ) -> GroupDetail:
        """One group with its grants and a page of its members."""
        query = json_body(limit=limit, offset=offset)
        return cast(GroupDetail, await self._call("get_group", {"group_id": group_id}, query=query))

    async def add_grant(
        self,
        group_id: str,
        project_id: str,
        *,
        role_id: str | None = None,
        team_id: str | None = None,
        team_role: str | None = None,
    ) -> Grant:
        """Attach a grant to a custom group: its members receive it."""
        body = json_body(
            project_id=project_id, role_id=role_id, team_id=team_id, team_role=team_role
        )
        return cast(Grant, await self._call("add_grant", {"group_id": group_id}, body=body))

    async def remove_grant(self, group_id: str, grant_id: str) -> None:
        await self._call("remove_grant", {"group_id": group_id, "grant_id": grant_id})

    async def preview_grant(
        self,
        group_id: str,
        *,
        action: str,
        grant_id: str | None = None,
        project_id: str | None = None,
        role_id: str | None = None,
        team_id: str | None = None,
        team_role: str | None = None,
    ) -> GrantPreview:
        """Whose effective access adding or removing a grant would change (nothing changes)."""
        body = json_body(
            action=action,
            grant_id=grant_id,
            project_id=project_id,
            role_id=role_id,
            team_id=team_id,
            team_role=team_role,
        )
        return cast(
            GrantPreview, await self._call("preview_grant", {"group_id": group_id}, body=body)
        )

    # Logs

    async def audit_log(
        self,
        *,
        action: str | None = None,
        actor_kind: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
        before: int | None = None,
        limit: int | None = None,
    ) -> AuditPage:
        """Every change by anyone, newest first; pass `next_before` as `before` for more."""
        query = json_body(
            action=action,
            actor_kind=actor_kind,
            resource_type=resource_type,
            resource_id=resource_id,
            before=before,
            limit=limit,
        )
        return cast(AuditPage, await self._call("audit_log", query=query))

    async def provisioning_log(
        self,
        *,
        method: str | None = None,
        status: str | None = None,
        path: str | None = None,
        before: int | None = None,
        limit: int | None = None,
    ) -> ProvisioningPage:
        query = json_body(method=method, status=status, path=path, before=before, limit=limit)
        return cast(ProvisioningPage, await self._call("provisioning_log", query=query))

    async def request_events(self, entry_id: int | str) -> RequestEvents:
        """The events a logged SCIM request produced."""
        return cast(RequestEvents, await self._call("request_events", {"entry_id": str(entry_id)}))

    # The change feed

    async def list_events(
        self,
        *,
        after: int = 0,
        limit: int | None = None,
        wait: float | None = None,
        types: Sequence[str] | None = None,
    ) -> EventPage:
        """One page of the feed after sequence number `after`; with `wait`, the server
        holds the request up to that many seconds until something is newer."""
        query = json_body(after=after, limit=limit, wait=wait, types=types)
        timeout = None if not wait else (self._http.timeout.read or 0.0) + wait + POLL_MARGIN
        return cast(EventPage, await self._call("list_events", query=query, timeout=timeout))

    async def events(
        self,
        after: int = 0,
        *,
        wait: float = 30.0,
        types: Sequence[str] | None = None,
        limit: int | None = None,
        follow: bool = True,
    ) -> AsyncIterator[Event]:
        """Every event after sequence number `after`, in order, long-polling for new ones
        (`wait` seconds a request). To resume after a restart, pass the `seq` of the last
        event handled. With `follow=False`, stop once caught up."""
        while True:
            page = await self.list_events(
                after=after, limit=limit, wait=wait if follow else None, types=types
            )
            for event in page["events"]:
                yield event
            after = max(after, page["next_after"])
            if not page["events"] and not follow:
                return

    # Webhooks

    async def create_webhook(self, url: str, *, events: Sequence[str] | None = None) -> Webhook:
        """Subscribe an endpoint; its signing `secret` is in this answer only."""
        body = json_body(url=url, events=list(events) if events is not None else None)
        return cast(Webhook, await self._call("create_webhook", body=body))

    async def list_webhooks(self) -> list[Webhook]:
        return cast(list[Webhook], (await self._call("list_webhooks"))["webhooks"])

    async def get_webhook(self, endpoint_id: str) -> Webhook:
        return cast(Webhook, await self._call("get_webhook", {"endpoint_id": endpoint_id}))

    async def update_webhook(
        self,
        endpoint_id: str,
        *,
        url: str | None = None,
        events: Sequence[str] | None = None,
        enabled: bool | None = None,
    ) -> Webhook:
        body = json_body(
            url=url, events=list(events) if events is not None else None, enabled=enabled
        )
        return cast(
            Webhook, await self._call("update_webhook", {"endpoint_id": endpoint_id}, body=body)
        )

    async def delete_webhook(self, endpoint_id: str) -> None:
        await self._call("delete_webhook", {"endpoint_id": endpoint_id})

    async def list_deliveries(
        self, endpoint_id: str, *, state: str | None = None, limit: int | None = None
    ) -> list[Delivery]:
        """An endpoint's deliveries, newest first, each with its attempts."""
        query = json_body(state=state, limit=limit)
        answer = await self._call("list_deliveries", {"endpoint_id": endpoint_id}, query=query)
        return cast(list[Delivery], answer["deliveries"])

    async def resend_delivery(self, delivery_id: str) -> Delivery:
        return cast(Delivery, await self._call("resend_delivery", {"delivery_id": delivery_id}))
