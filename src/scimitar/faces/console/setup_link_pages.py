"""What a setup link opens: a landing page, then the org's SCIM setup page in a setup session.

`GET /console/setup-links/{secret}` only shows the page: link scanners and chat previews
fetch URLs, and must not spend a one-time link. The button on it (a form protected like the
sign-in form, by a nonce cookie and its HMAC) spends the link and sets the setup session's
cookie, which `/console/setup` accepts and every other console page and the admin API refuse.
A spent, expired or revoked link shows which, and whom to ask.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from scimitar.domain.context import SYSTEM_ACTOR, Tx
from scimitar.domain.directory import organizations
from scimitar.domain.errors import AuthError, DomainError
from scimitar.domain.identity import keys, setup_portal
from scimitar.domain.identity.setup_portal import LinkState, SetupSession
from scimitar.faces.console import once, signin
from scimitar.faces.console.public_url import loopback_warning
from scimitar.faces.console.setup_pages import SCIM_KEY_EXPLAINED
from scimitar.faces.web.auth import SETUP_COOKIE
from scimitar.faces.web.views import org_view, scim_key_view
from scimitar.faces.web.wire import from_domain

if TYPE_CHECKING:
    from scimitar.faces.console.console import Console

LINK_PATH = "/console/setup-links"
SETUP_PATH = "/console/setup"
_NONCE_COOKIE = "scimitar_setup_link"
_STATES = {
    None: (
        "This link is not valid",
        "This setup link does not exist (check that it was copied whole).",
    ),
    LinkState.USED: (
        "This link was already used",
        "This setup link works once, and it has been used.",
    ),
    LinkState.EXPIRED: ("This link has expired", "This setup link has expired."),
    LinkState.REVOKED: (
        "This link was revoked",
        "This setup link was revoked by the organization.",
    ),
    "ended": ("This setup session has ended", setup_portal.SETUP_SESSION_ENDED),
}
_KEY_ACTIONS = {
    "generate": keys.generate_scim_key,
    "regenerate": keys.regenerate_scim_key,
}


class SetupLinkPages:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.db = console.db

    def routes(self) -> list[BaseRoute]:
        return [
            Route(LINK_PATH + "/{secret}", self.landing, methods=["GET"]),
            Route(LINK_PATH + "/{secret}", self.console.reads_form(self.open), methods=["POST"]),
            Route(SETUP_PATH, self.page, methods=["GET"]),
            Route(SETUP_PATH + "/{action}", self.console.reads_form(self.act), methods=["POST"]),
        ]

    def _state_page(self, state: LinkState | str | None) -> Response:
        title, message = _STATES[state]
        status = 404 if state is None else 401 if state == "ended" else 410
        context = {"state": "gone", "title": title, "message": message}
        return self.console.html("setup_link.html", context, status)

    # The link

    async def landing(self, request: Request) -> Response:
        secret = request.path_params["secret"]
        found = await run_in_threadpool(self._find, secret)
        if found is None or isinstance(found, LinkState):
            return self._state_page(found)
        nonce = signin.new_nonce()
        context = {
            "state": "active",
            "org_name": found,
            "action": f"{LINK_PATH}/{secret}",
            "form_token": signin.form_token(await run_in_threadpool(self.console.secret), nonce),
        }
        response = self.console.html("setup_link.html", context)
        response.set_cookie(
            _NONCE_COOKIE,
            nonce,
            max_age=3600,
            path=LINK_PATH,
            secure=self.console.secure,
            httponly=True,
            samesite="lax",
        )
        return response

    def _find(self, secret: str) -> str | LinkState | None:
        """The org's name while the link can be opened, else its state."""
        with self.db.read() as conn:
            tx = Tx(conn, SYSTEM_ACTOR)
            link = setup_portal.find_link(tx, secret)
            if link is None:
                return None
            state = link.state(tx.now)
            if state is not LinkState.ACTIVE:
                return state
            return organizations.get_org(tx, link.org_id).name

    async def open(self, request: Request) -> Response:
        form = await self.console._form(request)
        secret = request.path_params["secret"]
        valid = signin.form_token_valid(
            await run_in_threadpool(self.console.secret),
            request.cookies.get(_NONCE_COOKIE),
            form.get("form_token", ""),
        )
        if not valid:
            message = "This page expired; open the link again"
            return self.console.html("error.html", {"message": message}, 403)
        opened = await run_in_threadpool(self._open, secret)
        if opened is None or isinstance(opened, LinkState):
            return self._state_page(opened)
        token, _ = opened
        response = RedirectResponse(SETUP_PATH, status_code=303)
        response.set_cookie(
            SETUP_COOKIE,
            token,
            max_age=int(setup_portal.SESSION_LIFETIME.total_seconds()),
            path="/",
            secure=self.console.secure,
            httponly=True,
            samesite="lax",
        )
        response.delete_cookie(_NONCE_COOKIE, path=LINK_PATH)
        return response

    def _open(self, secret: str) -> tuple[str, SetupSession] | LinkState | None:
        with self.db.write() as conn:
            return setup_portal.open_link(Tx(conn, SYSTEM_ACTOR), secret)

    # The setup page

    def _context(self, tx: Tx, session: SetupSession, new_key: str | None) -> dict[str, Any]:
        public_url = self.console.settings.public_url
        status = scim_key_view(keys.scim_key_status(tx, session.org), public_url + "/scim")
        return {
            "org": org_view(session.org),
            "me": None,
            "csrf": session.csrf_token,
            "section": "scim",
            "notice": None,
            "error": None,
            "form": {},
            "query": {},
            "setup_only": True,
            "scim_actions": SETUP_PATH,
            "key": status,
            "new_key": new_key,
            "key_already_shown": False,
            "key_explained": SCIM_KEY_EXPLAINED,
            "public_url": public_url,
            "public_url_warning": loopback_warning(public_url),
        }

    async def page(self, request: Request) -> Response:
        token = request.cookies.get(SETUP_COOKIE, "")
        shown = request.query_params.get(once.SHOWN) == once.SCIM_KEY
        sealed = request.cookies.get(once.COOKIE) if shown else None
        return await run_in_threadpool(self._page, token, shown, sealed)

    def _page(self, token: str, shown: bool, sealed: str | None) -> Response:
        new_key = None
        if sealed is not None:
            new_key = once.unseal(self.console.secret(), token, once.SCIM_KEY, sealed)
        with self.db.read() as conn:
            tx = Tx(conn, SYSTEM_ACTOR)
            try:
                session = setup_portal.find_session(tx, token)
            except AuthError:
                return self._state_page("ended")
            context = self._context(tx, session, new_key)
        # Redirected here to show a new key: once; a reload says it was shown.
        context["key_already_shown"] = shown and new_key is None
        response = self.console.html("scim.html", context)
        if sealed is not None:
            once.clear_cookie(response, secure=self.console.secure)
        return response

    async def act(self, request: Request) -> Response:
        form = await self.console._form(request)
        token = request.cookies.get(SETUP_COOKIE, "")
        action = request.path_params["action"]
        return await run_in_threadpool(self._act, token, action, form.get("csrf", ""))

    def _act(self, token: str, action: str, csrf: str) -> Response:
        if action not in ("generate", "regenerate", "deactivate"):
            return self.console.html("error.html", {"message": "Unknown action"}, 404)
        try:
            with self.db.write() as conn:
                tx = Tx(conn, SYSTEM_ACTOR)
                try:
                    session = setup_portal.find_session(tx, token)
                except AuthError:
                    return self._state_page("ended")
                if not hmac.compare_digest(csrf.encode(), session.csrf_token.encode()):
                    message = "This form has expired; reload the page and retry"
                    return self.console.html("error.html", {"message": message}, 403)
                tx.actor = session.link.actor
                new_key = None
                if action == "deactivate":
                    keys.deactivate_scim_key(tx, session.org)
                else:
                    new_key = _KEY_ACTIONS[action](tx, session.org)
        except DomainError as exc:
            return self._refused(token, exc)
        # Post/Redirect/Get: a reload never repeats the action. A new key, committed, goes
        # to the page in the sealed once-cookie (never in a URL or the database).
        if new_key is None:
            return RedirectResponse(SETUP_PATH, status_code=303)
        response = RedirectResponse(f"{SETUP_PATH}?{once.SHOWN}={once.SCIM_KEY}", status_code=303)
        sealed = once.seal(self.console.secret(), token, once.SCIM_KEY, new_key)
        once.set_cookie(response, sealed, secure=self.console.secure)
        return response

    def _refused(self, token: str, error: DomainError) -> Response:
        with self.db.read() as conn:
            tx = Tx(conn, SYSTEM_ACTOR)
            try:
                session = setup_portal.find_session(tx, token)
            except AuthError:
                return self._state_page("ended")
            context = {**self._context(tx, session, None), "error": error.detail}
            return self.console.html("scim.html", context, from_domain(error).status)
