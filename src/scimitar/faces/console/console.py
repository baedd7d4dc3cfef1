"""The web console at `/console`: server-rendered pages for an org's Owners and Admins.

Each request flows straight through, like the API's: read the form (async), then in a
worker thread open one transaction, find the session (which selects the org and the
audit actor), check the form's CSRF token, run the page loader or the action, and render.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from scimitar.config import Settings
from scimitar.domain.context import SYSTEM_ACTOR, Tx
from scimitar.domain.errors import AuthError, DomainError, from_refusal
from scimitar.domain.identity import sessions
from scimitar.faces.console import (
    event_pages,
    grant_preview_pages,
    group_pages,
    log_pages,
    member_pages,
    once,
    setup_pages,
    signin,
    sso_pages,
    sso_signin,
    structure_pages,
    webhook_pages,
)
from scimitar.faces.console.page import NOTICES, Action, Outcome, Page, Redirect, Render, View
from scimitar.faces.console.setup_link_pages import SetupLinkPages
from scimitar.faces.web.auth import SESSION_COOKIE, SETUP_COOKIE
from scimitar.faces.web.views import member_view, org_view
from scimitar.faces.web.wire import BodyTooLarge, from_domain, read_limited
from scimitar.storage.database import Database
from scimitar.storage.limits import ValueRefused

Endpoint = Callable[[Request], Awaitable[Response]]
MAX_FIELD = 10_000
MAX_FIELDS = 200
MAX_FORM = 262_144
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
PAGES: list[tuple[str, Page]] = [
    *setup_pages.PAGES,
    *member_pages.PAGES,
    *structure_pages.PAGES,
    *group_pages.PAGES,
    *log_pages.PAGES,
    *event_pages.PAGES,
    *webhook_pages.PAGES,
    *sso_pages.PAGES,
]
ACTIONS: list[tuple[str, Action]] = [
    *setup_pages.ACTIONS,
    *member_pages.ACTIONS,
    *structure_pages.ACTIONS,
    *group_pages.ACTIONS,
    *grant_preview_pages.ACTIONS,
    *webhook_pages.ACTIONS,
    *sso_pages.ACTIONS,
]


class _BadForm(Exception):
    """The request's body is not a console form the server will read."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message


class _SignInFirst(Exception):
    """The request has no usable session: send the browser to the sign-in page."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class Console:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.secure = settings.public_url.startswith("https://")
        self._secret = settings.secret_key
        self.templates = Environment(
            loader=PackageLoader("scimitar.faces.console", "templates"),
            autoescape=select_autoescape(default=True),
            undefined=StrictUndefined,
        )
        self.sso = sso_signin.SsoSignIn(self)

    def routes(self) -> list[BaseRoute]:
        static = StaticFiles(packages=[("scimitar.faces.console", "static")])
        return [
            Route("/console", self.home, methods=["GET"]),
            Route(signin.SIGN_IN_PATH, self.sign_in_form, methods=["GET"]),
            Route(signin.SIGN_IN_PATH, self.reads_form(self.sign_in), methods=["POST"]),
            Route("/console/sign-out", self.reads_form(self.sign_out), methods=["POST"]),
            *self.sso.routes(),
            Mount("/console/static", static, name="console-static"),
            *SetupLinkPages(self).routes(),
            *(Route(path, self.show(page), methods=["GET"]) for path, page in PAGES),
            *(
                Route(path, self.reads_form(self.act(action)), methods=["POST"])
                for path, action in ACTIONS
            ),
        ]

    # Rendering

    def html(self, template: str, context: dict[str, Any], status: int = 200) -> Response:
        body = self.templates.get_template(template).render(**context)
        return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)

    def respond(self, outcome: Outcome) -> Response:
        if isinstance(outcome, Redirect):
            return RedirectResponse(outcome.url(), status_code=303, headers=SECURITY_HEADERS)
        return self.html(outcome.template, outcome.context, outcome.status)

    def not_found_page(self, status: int, detail: str) -> Response:
        """An unknown console URL (404) or a form posted where none is taken (405)."""
        return self.html("not_found.html", {"status": status, "detail": detail}, status)

    @staticmethod
    def frame(view: View, section: str) -> dict[str, Any]:
        """What every signed-in page shows: org, user, CSRF token, navigation, notice."""
        return {
            "org": org_view(view.session.org),
            "me": member_view(view.session.member),
            "csrf": view.session.csrf_token,
            "section": section,
            "notice": NOTICES.get(view.arg("notice")),
            "error": None,
            "form": view.form,
            "query": view.query,
        }

    # Sign-in

    def secret(self) -> str:
        if self._secret is None:
            self._secret = sessions.deployment_secret(self.db, None, "console")
        return self._secret

    async def home(self, request: Request) -> Response:
        if not request.cookies.get(SESSION_COOKIE):
            # A first visit: straight to sign-in, not told that a session has ended.
            return RedirectResponse(signin.SIGN_IN_PATH, status_code=303)
        return RedirectResponse("/console/scim", status_code=303)

    def _sign_in_page(
        self, request: Request, *, error: str | None = None, status: int = 200
    ) -> Response:
        nonce = signin.new_nonce()
        context = {
            "form_token": signin.form_token(self.secret(), nonce),
            "org_slug": request.query_params.get("org", ""),
            "error": error,
            "notice": signin.REASONS.get(request.query_params.get("reason", "")),
            "sso_notice": self.sso.sign_in_notice(request.query_params.get("org", "")),
        }
        response = self.html("sign_in.html", context, status)
        signin.set_nonce_cookie(response, nonce, secure=self.secure)
        return response

    async def sign_in_form(self, request: Request) -> Response:
        return await run_in_threadpool(self._sign_in_page, request)

    async def sign_in(self, request: Request) -> Response:
        form = await self._form(request)
        nonce = request.cookies.get(signin.SIGN_IN_COOKIE)
        if not signin.form_token_valid(
            await run_in_threadpool(self.secret), nonce, form.get("form_token", "")
        ):
            error = "The sign-in form expired; please try again"
            return await run_in_threadpool(
                lambda: self._sign_in_page(request, error=error, status=403)
            )
        result = await run_in_threadpool(
            self._check_password,
            form.get("org", ""),
            form.get("email", ""),
            form.get("password", ""),
        )
        if result.token is None:
            return await run_in_threadpool(
                lambda: self._sign_in_page(request, error=result.error, status=401)
            )
        response = RedirectResponse("/console/scim", status_code=303, headers=SECURITY_HEADERS)
        signin.set_session_cookie(response, result.token, secure=self.secure)
        return response

    def _check_password(self, slug: str, email: str, password: str) -> signin.SignInResult:
        # Commits whatever happened (a new session, or the failure count) before answering.
        with self.db.write() as conn:
            return signin.sign_in(Tx(conn, SYSTEM_ACTOR), slug, email, password)

    async def sign_out(self, request: Request) -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        form = await self._form(request)
        if token:
            await run_in_threadpool(self._end_session, token, form.get("csrf", ""))
        response = RedirectResponse(
            signin.SIGN_IN_PATH + "?reason=signed-out", status_code=303, headers=SECURITY_HEADERS
        )
        signin.clear_session_cookie(response, secure=self.secure)
        return response

    def _end_session(self, token: str, csrf: str) -> None:
        with self.db.write() as conn:
            tx = Tx(conn, SYSTEM_ACTOR)
            try:
                session = sessions.find_session(tx, token)
            except AuthError:
                return
            # A forged sign-out is a nuisance, not a breach; still, only the page may sign out.
            if hmac.compare_digest(csrf.encode(), session.csrf_token.encode()):
                sessions.end_session(tx, token)

    # Pages and actions

    async def _form(self, request: Request) -> dict[str, str]:
        """The urlencoded form (the only kind the console sends; any other body is not read),
        read up to `MAX_FORM` bytes: a larger one raises `_BadForm`."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return {}
        try:
            raw = await read_limited(request, MAX_FORM)
            pairs = parse_qsl(
                raw.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=MAX_FIELDS
            )
        except BodyTooLarge:
            raise _BadForm(413, "This form is too large") from None
        except ValueError:
            raise _BadForm(400, "This form has too many fields") from None
        return {key: value[:MAX_FIELD] for key, value in pairs}

    def reads_form(self, handler: Callable[[Request], Awaitable[Response]]) -> Endpoint:
        """Answer a form the console will not read with an error page."""

        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except _BadForm as exc:
                return self.html("error.html", {"message": exc.message}, exc.status)

        return endpoint

    def _view(self, tx: Tx, request: _RequestData) -> View:
        if not request.token:
            raise _SignInFirst("setup-only" if request.setup else "ended")
        try:
            session = sessions.find_session(tx, request.token)
        except AuthError:
            raise _SignInFirst("ended") from None
        if not sessions.can_administer(session.member):
            raise _SignInFirst("not-admin")
        view = View(
            session,
            request.params,
            request.query,
            request.form,
            self.settings.public_url,
            self.settings.sealer,
            self.settings.webhook_hosts,
        )
        tx.actor = view.principal.actor
        return view

    def show(self, page: Page) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            data = _RequestData.of(request, {})
            response = self.respond(await run_in_threadpool(self._show, page, data))
            if data.sealed is not None:  # shown now, or never: a reload finds nothing
                once.clear_cookie(response, secure=self.secure)
            return response

        return endpoint

    def _show(self, page: Page, data: _RequestData) -> Outcome:
        try:
            with self.db.read() as conn:
                tx = Tx(conn, SYSTEM_ACTOR)
                view = self._view(tx, data)
                if data.sealed is not None and data.token and view.arg(once.SHOWN):
                    secret = self.secret()
                    view.revealed = once.unseal(
                        secret, data.token, view.arg(once.SHOWN), data.sealed
                    )
                context = {**self.frame(view, page.section), **page.load(view, tx)}
                touch = view.session.needs_touch(tx.now)
            if touch and data.token:  # a page view keeps the session alive (once a minute)
                with self.db.write() as conn:
                    sessions.touch_session(Tx(conn, SYSTEM_ACTOR), data.token)
            return Render(page.template, context)
        except _SignInFirst as exc:
            return Redirect(f"{signin.SIGN_IN_PATH}?reason={exc.reason}")
        except DomainError as exc:
            return Render("error.html", {"message": exc.detail}, from_domain(exc).status)
        except ValueRefused as exc:
            refused = from_refusal(exc, data.params.values())
            return Render("error.html", {"message": refused.detail}, from_domain(refused).status)

    def act(self, action: Action) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            if not request.cookies.get(SESSION_COOKIE):
                # Without a session the form would be refused anyway: do not read it.
                reason = "setup-only" if request.cookies.get(SETUP_COOKIE) else "ended"
                return self.respond(Redirect(f"{signin.SIGN_IN_PATH}?reason={reason}"))
            data = _RequestData.of(request, await self._form(request))
            outcome = await run_in_threadpool(self._act, action, data)
            response = self.respond(outcome)
            if isinstance(outcome, Redirect) and outcome.reveal is not None and data.token:
                kind, value = outcome.reveal
                secret = await run_in_threadpool(self.secret)
                sealed = once.seal(secret, data.token, kind, value)
                once.set_cookie(response, sealed, secure=self.secure)
            return response

        return endpoint

    def _act(self, action: Action, data: _RequestData) -> Outcome:
        try:
            with self.db.write() as conn:
                tx = Tx(conn, SYSTEM_ACTOR)
                view = self._view(tx, data)
                if not hmac.compare_digest(
                    data.form.get("csrf", "").encode(), view.session.csrf_token.encode()
                ):
                    return Render("error.html", {"message": _CSRF_FAILED}, 403)
                outcome = action.run(view, tx)
                if view.session.needs_touch(tx.now) and data.token:
                    sessions.touch_session(tx, data.token)
                if isinstance(outcome, Render):
                    frame = self.frame(view, action.page.section)
                    outcome = Render(outcome.template, {**frame, **outcome.context}, outcome.status)
                return outcome
        except _SignInFirst as exc:
            return Redirect(f"{signin.SIGN_IN_PATH}?reason={exc.reason}")
        except DomainError as exc:
            # Rolled back: show the page again, as it is now, with the reason.
            return self._refused(action.page, data, exc)
        except ValueRefused as exc:
            return self._refused(action.page, data, from_refusal(exc, data.params.values()))

    def _refused(self, page: Page, data: _RequestData, error: DomainError) -> Outcome:
        try:
            with self.db.read() as conn:
                tx = Tx(conn, SYSTEM_ACTOR)
                view = self._view(tx, data)
                context = {**self.frame(view, page.section), **page.load(view, tx)}
        except _SignInFirst as exc:
            return Redirect(f"{signin.SIGN_IN_PATH}?reason={exc.reason}")
        except DomainError as exc:
            return Render("error.html", {"message": exc.detail}, from_domain(exc).status)
        context["error"] = error.detail
        return Render(page.template, context, from_domain(error).status)


_CSRF_FAILED = "This form has expired or did not come from the console; reload the page and retry"


class _RequestData:
    """The parts of a request a worker thread needs."""

    def __init__(
        self,
        token: str | None,
        params: dict[str, str],
        query: dict[str, str],
        form: dict[str, str],
        setup: bool = False,
    ) -> None:
        self.token = token
        self.params = params
        self.query = query
        self.form = form
        #: The browser holds a setup link's session (the SCIM setup page only).
        self.setup = setup
        self.sealed: str | None = None

    @classmethod
    def of(cls, request: Request, form: dict[str, str]) -> _RequestData:
        data = cls(
            request.cookies.get(SESSION_COOKIE),
            dict(request.path_params),
            dict(request.query_params),
            form,
            bool(request.cookies.get(SETUP_COOKIE)),
        )
        data.sealed = request.cookies.get(once.COOKIE)
        return data
