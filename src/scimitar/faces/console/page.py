"""What a console page or action receives and returns (no Starlette objects cross threads).

A page is a template and a loader that builds its context in a read transaction. An action
changes something in a write transaction and answers with a redirect (Post/Redirect/Get),
so that a reload never repeats it; a secret to be shown once (a new key) goes with the
redirect in a sealed cookie (see `once`). When the domain refuses
an action, the transaction is rolled back and its page is shown again with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scimitar.domain.context import Tx
from scimitar.domain.errors import InvalidError
from scimitar.domain.events.addresses import AllowList
from scimitar.domain.identity.sealing import Sealer
from scimitar.domain.identity.sessions import Session
from scimitar.faces.web.auth import Principal, console_actor

#: Success messages, chosen by a code in the redirect URL (so a URL cannot inject text).
NOTICES = {
    "settings-saved": "Settings saved.",
    "key-deactivated": "The SCIM key is deactivated; requests with it are refused from now on.",
    "token-revoked": "The API token is revoked; requests with it are refused from now on.",
    "setup-link-revoked": "The setup link is revoked; it no longer opens, and the session it "
    "opened has ended.",
    "role-changed": "Org role changed.",
    "member-removed": "Member removed. Your identity provider will unassign them on its next "
    "import.",
    "assignment-added": "Access assigned.",
    "assignment-removed": "Assignment removed.",
    "project-created": "Project created, with one role group per role.",
    "project-saved": "Project saved.",
    "project-deleted": "Project deleted.",
    "role-created": "Role created; every project has a role group for it.",
    "role-deleted": "Role deleted.",
    "team-created": "Team created, with its Admin and Member team groups.",
    "team-deleted": "Team deleted.",
    "grant-added": "Grant attached: every member of the group receives it.",
    "grant-removed": "Grant removed.",
    "ownership-transferred": "Ownership transferred; you are now an Admin.",
    "webhook-enabled": "Webhook enabled: it receives the events from now on.",
    "webhook-disabled": "Webhook disabled: no events are delivered to it until it is enabled.",
    "webhook-deleted": "Webhook endpoint deleted, with its delivery log.",
    "delivery-resent": "Delivery queued to be sent again.",
    "sso-saved": "SSO connection saved. Try it with Test sign-in.",
    "sso-deleted": "SSO connection removed: console sign-in is by password only.",
    "sso-policy-saved": "SSO policy saved.",
}


@dataclass
class View:
    """One console request, with the signed-in member's session."""

    session: Session
    params: dict[str, str]
    query: dict[str, str]
    form: dict[str, str]
    public_url: str
    #: Seals the secrets a page stores (webhook signing secrets, OIDC client secrets).
    sealer: Sealer
    #: The internal hosts webhooks may reach (`SCIMITAR_WEBHOOK_ALLOWED_HOSTS`).
    webhook_hosts: AllowList
    #: A secret sealed by the action that redirected here, opened for this page (`once`).
    revealed: str | None = None

    @property
    def principal(self) -> Principal:
        return Principal(self.session.org, console_actor(self.session.member), self.session.member)

    def arg(self, name: str) -> str:
        return self.query.get(name, "").strip()

    def field(self, name: str, *, required: str | None = None) -> str:
        """A form field; `required` is the message shown when it is empty."""
        value = self.form.get(name, "")
        if required is not None and not value.strip():
            raise InvalidError(required)
        return value

    def secret_shown(self, kind: str) -> tuple[str | None, bool]:
        """The secret of `kind` an action redirected here to show once, and whether it was
        already shown (the page is reloaded: the secret is gone for good)."""
        if self.arg("shown") != kind:
            return None, False
        return self.revealed, self.revealed is None

    def page_number(self) -> int:
        raw = self.arg("page")
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 6:
            return 1
        return max(int(raw), 1)


@dataclass(frozen=True)
class Render:
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    status: int = 200


@dataclass(frozen=True)
class Redirect:
    path: str
    notice: str | None = None
    #: A secret to show once on the page redirected to, as (kind, value): it travels in a
    #: sealed cookie (`once`), never in the URL, which carries only `shown=kind`.
    reveal: tuple[str, str] | None = None

    def url(self) -> str:
        params = [f"notice={self.notice}"] if self.notice else []
        if self.reveal is not None:
            params.append(f"shown={self.reveal[0]}")
        if not params:
            return self.path
        joiner = "&" if "?" in self.path else "?"
        return self.path + joiner + "&".join(params)


Outcome = Render | Redirect
Loader = Callable[[View, Tx], dict[str, Any]]


@dataclass(frozen=True)
class Page:
    template: str
    load: Loader
    #: Which navigation entry is highlighted.
    section: str


@dataclass(frozen=True)
class Action:
    run: Callable[[View, Tx], Outcome]
    #: Shown again, with the error, when the domain refuses the action.
    page: Page


PER_PAGE = 25


def pager(total: int, page: int, per_page: int = PER_PAGE) -> dict[str, Any]:
    """Page numbers for a list of `total` items (pages count from 1)."""
    pages = max(1, -(-total // per_page))
    page = min(page, pages)
    return {
        "page": page,
        "pages": pages,
        "total": total,
        "offset": (page - 1) * per_page,
        "previous": page - 1 if page > 1 else None,
        "next": page + 1 if page < pages else None,
    }
