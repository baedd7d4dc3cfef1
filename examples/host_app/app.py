"""A SaaS "host product" that keeps its organizations in Scimitar.

It shows, end to end, what a host's backend does with `scimitar.client`:

- `POST /signup` creates the customer's org (operator token), mints an org API token for this
  backend and returns a setup link for the customer's IT admin;
- the signed-in person (here, faked by the `X-Org` and `X-User-Email` headers) is mapped to a
  Scimitar member by userName;
- `GET /projects/{project}/settings` is guarded by an access check (`project.admin`);
- `POST /sync` (and, with `HOST_APP_SYNC_SECONDS`, a background loop) keeps a local cache of
  members and access decisions fresh from the change feed, resuming from the last seq;
- `POST /webhooks/scimitar` verifies a delivery's signature and then syncs that org.

Run (see README.md):

    SCIMITAR_URL=… SCIMITAR_OPERATOR_TOKEN=sop-… uvicorn --factory examples.host_app.app:create_app
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from scimitar.client import (
    AsyncClient,
    Conflict,
    ConnectionFailed,
    Event,
    Invalid,
    RateLimited,
    ScimitarError,
    ServerError,
)
from scimitar.webhooks import SIGNATURE_HEADER, verify

#: The events that can change who someone is or what they may do.
WATCHED = ["member.*", "access.changed", "project.renamed", "project.deleted"]
#: The events that carry a member's whole SCIM document (userName, active).
MEMBER_STATES = {
    "member.created",
    "member.updated",
    "member.deactivated",
    "member.reactivated",
    "member.removed",
}
#: How long a cached access decision is trusted without a feed event to refresh it.
DECISION_SECONDS = 60.0


@dataclass
class Settings:
    scimitar_url: str
    operator_token: str
    public_url: str | None  # where Scimitar can reach us; no webhook when unset
    sync_seconds: float  # 0: no background sync, call POST /sync

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            scimitar_url=os.environ["SCIMITAR_URL"],
            operator_token=os.environ["SCIMITAR_OPERATOR_TOKEN"],
            public_url=os.environ.get("HOST_APP_PUBLIC_URL") or None,
            sync_seconds=float(os.environ.get("HOST_APP_SYNC_SECONDS", "0")),
        )


@dataclass
class CachedMember:
    id: str
    active: bool


@dataclass
class Tenant:
    """What the host keeps per customer org (in a real product: a row in its own database;
    the token and webhook secret encrypted there like any other credential)."""

    slug: str
    org_id: str
    api_token: str
    webhook_secret: str | None = None
    last_seq: int = 0  # the feed's checkpoint: the seq of the last event applied
    members: dict[str, CachedMember] = field(default_factory=dict)  # by lower-cased userName
    user_names: dict[str, str] = field(default_factory=dict)  # member id → key in `members`
    decisions: dict[tuple[str, str], tuple[bool, float]] = field(default_factory=dict)


class HostApp:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tenants: dict[str, Tenant] = {}
        self._clients: dict[str, AsyncClient] = {}
        self._sync_locks: dict[str, asyncio.Lock] = {}

    def scimitar(self, tenant: Tenant) -> AsyncClient:
        """One long-lived client per org token (it keeps its connections)."""
        if tenant.slug not in self._clients:
            self._clients[tenant.slug] = AsyncClient(self.settings.scimitar_url, tenant.api_token)
        return self._clients[tenant.slug]

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    # Sign-up

    async def sign_up(self, company: str, admin_email: str) -> tuple[Tenant, str]:
        async with AsyncClient(self.settings.scimitar_url, self.settings.operator_token) as op:
            org = await op.create_org(company, owner_email=admin_email)
            token = await op.create_tenant_api_token(org["slug"], "host app backend")
            link = await op.create_tenant_setup_link(org["slug"], expires_in=7 * 24 * 3600)
        tenant = Tenant(org["slug"], org["id"], token["token"])
        self.tenants[tenant.slug] = tenant
        if self.settings.public_url:
            hook = await self.scimitar(tenant).create_webhook(
                f"{self.settings.public_url}/webhooks/scimitar", events=WATCHED
            )
            tenant.webhook_secret = hook.get("secret")
        return tenant, link.get("url", "")

    # Who is signed in, and may they?

    async def member(self, tenant: Tenant, email: str) -> CachedMember | None:
        """The member whose userName is this email: from the cache, else one lookup."""
        key = email.lower()
        if key not in tenant.members:
            page = await self.scimitar(tenant).list_members(q=email, limit=10)
            for found in page["members"]:
                if found["user_name"].lower() == key:
                    remember(tenant, key, CachedMember(found["id"], found["active"]))
        return tenant.members.get(key)

    async def allowed(self, tenant: Tenant, member: CachedMember, project: str) -> bool:
        cached = tenant.decisions.get((member.id, project.lower()))
        now = asyncio.get_running_loop().time()
        if cached and now - cached[1] < DECISION_SECONDS:
            return cached[0]
        allowed = await self.scimitar(tenant).is_allowed(
            member.id, project, permission="project.admin"
        )
        tenant.decisions[(member.id, project.lower())] = (allowed, now)
        return allowed

    # Keeping the cache fresh

    async def sync(self, tenant: Tenant) -> int:
        """Apply every event after the checkpoint; returns how many were applied."""
        lock = self._sync_locks.setdefault(tenant.slug, asyncio.Lock())
        async with lock:  # one reader per org, so the checkpoint only moves forward
            applied = 0
            feed = self.scimitar(tenant).events(after=tenant.last_seq, types=WATCHED, follow=False)
            async for event in feed:
                apply(tenant, event)
                tenant.last_seq = event["seq"]  # a real app saves it with the change
                applied += 1
            return applied

    async def sync_forever(self) -> None:
        while True:
            for tenant in list(self.tenants.values()):
                with contextlib.suppress(ScimitarError):  # retried on the next round
                    await self.sync(tenant)
            await asyncio.sleep(self.settings.sync_seconds)


def remember(tenant: Tenant, user_name: str, member: CachedMember) -> None:
    """Cache a member under its (lower-cased) userName, forgetting a previous userName."""
    forget_member(tenant, member.id)
    tenant.members[user_name] = member
    tenant.user_names[member.id] = user_name


def forget_member(tenant: Tenant, member_id: str) -> None:
    previous = tenant.user_names.pop(member_id, None)
    if previous is not None:
        tenant.members.pop(previous, None)


def forget_decisions(tenant: Tenant, member_id: str) -> None:
    for decision in [k for k in tenant.decisions if k[0] == member_id]:
        del tenant.decisions[decision]


def apply(tenant: Tenant, event: Event) -> None:
    data, kind = event["data"], event["type"]
    if kind == "access.changed":
        forget_decisions(tenant, str(data["member_id"]))
    elif kind.startswith("project."):  # decisions are cached by project name
        tenant.decisions.clear()
    elif kind in MEMBER_STATES:  # (org roles and assignments are not cached here)
        member = CachedMember(str(data["id"]), bool(data.get("active", True)))
        if kind == "member.removed":
            forget_member(tenant, member.id)
        else:
            remember(tenant, str(data["userName"]).lower(), member)
        if kind in ("member.deactivated", "member.removed"):
            forget_decisions(tenant, member.id)


def create_app(settings: Settings | None = None) -> Starlette:
    host = HostApp(settings or Settings.from_env())

    async def signup(request: Request) -> Response:
        try:
            body = await request.json()
            company, admin_email = str(body["company"]), str(body["admin_email"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "Send {company, admin_email}."}, 400)
        try:
            tenant, url = await host.sign_up(company, admin_email)
        except Conflict:
            return JSONResponse({"error": "That company is already signed up."}, 409)
        except Invalid as error:
            return JSONResponse({"error": error.detail}, 422)
        # In production: e-mail `url` to the IT admin, never log it.
        return JSONResponse({"org": tenant.slug, "setup_link": url}, 201)

    async def project_settings(request: Request) -> Response:
        tenant = host.tenants.get(request.headers.get("X-Org", ""))
        email = request.headers.get("X-User-Email", "")
        if tenant is None or not email:
            return JSONResponse({"error": "Sign in first."}, 401)
        member = await host.member(tenant, email)
        if member is None or not member.active:
            return JSONResponse({"error": "You are not a member of this organization."}, 403)
        project = request.path_params["project"]
        if not await host.allowed(tenant, member, project):
            return JSONResponse({"error": f"You may not change {project}'s settings."}, 403)
        return JSONResponse({"project": project, "settings": {"retention_days": 30}})

    async def sync(request: Request) -> Response:
        applied = {slug: await host.sync(tenant) for slug, tenant in host.tenants.items()}
        return JSONResponse({"applied": applied})

    async def webhook(request: Request) -> Response:
        body = await request.body()  # the raw bytes: the signature covers them exactly
        try:
            org_id = json.loads(body)["org_id"]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "Not an event."}, 400)
        tenant = next((t for t in host.tenants.values() if t.org_id == org_id), None)
        header = request.headers.get(SIGNATURE_HEADER, "")
        secret = tenant.webhook_secret if tenant else None
        if tenant is None or not secret or not verify(body, header, secret):
            return JSONResponse({"error": "Bad signature."}, 400)
        # A delivery is a nudge: the feed is the ordered source, so read it from the
        # checkpoint (this also makes repeated deliveries harmless).
        await host.sync(tenant)
        return Response(status_code=204)

    async def scimitar_failed(request: Request, error: Exception) -> Response:
        # Fail closed: without an answer from Scimitar, nobody is let in.
        if isinstance(error, ConnectionFailed | ServerError | RateLimited):
            return JSONResponse({"error": "Please try again in a moment."}, 503)
        return JSONResponse({"error": "Scimitar refused the request."}, 502)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        loop = None
        if host.settings.sync_seconds > 0:
            loop = asyncio.create_task(host.sync_forever())
        try:
            yield
        finally:
            if loop:
                loop.cancel()
            await host.close()

    app = Starlette(
        routes=[
            Route("/signup", signup, methods=["POST"]),
            Route("/projects/{project}/settings", project_settings),
            Route("/sync", sync, methods=["POST"]),
            Route("/webhooks/scimitar", webhook, methods=["POST"]),
        ],
        lifespan=lifespan,
        exception_handlers={ScimitarError: scimitar_failed},
    )
    app.state.host = host
    return app
