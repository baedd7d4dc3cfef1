"""Console sign-in through the org's IdP (OpenID Connect): `/console/sso/find` (the sign-in
page's "Sign in with SSO" form), `/console/sso/start` and `/console/sso/callback`.

The form's answer is a page that moves on by itself (meta refresh) rather than a redirect:
the console's CSP (`form-action 'self'`) rightly stops a form submission from being
redirected to another origin, and a page load is not a form submission.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from scimitar.domain.context import SYSTEM_ACTOR, Tx
from scimitar.domain.errors import NotFoundError
from scimitar.domain.identity import oidc, sessions, sso
from scimitar.faces.console import signin
from scimitar.faces.web.auth import console_actor

if TYPE_CHECKING:
    from scimitar.faces.console.console import Console

SSO_COOKIE = "scimitar_sso"
SSO_PATH = "/console/sso"


@dataclass(frozen=True)
class _Finished:
    """What a callback ends in: a session token, or a page (refusal or test result)."""

    token: str | None = None
    template: str = ""
    context: dict[str, Any] | None = None
    status: int = 200


class SsoSignIn:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.db = console.db
        self.settings = console.settings

    def routes(self) -> list[BaseRoute]:
        return [
            Route(SSO_PATH + "/find", self.find, methods=["GET"]),
            Route(SSO_PATH + "/start", self.start, methods=["GET"]),
            Route(sso.CALLBACK_PATH, self.callback, methods=["GET"]),
        ]

    def sign_in_notice(self, slug: str) -> str | None:
        """What the sign-in page says about SSO for the org it was opened for."""
        slug = slug.strip().lower()
        if not slug or len(slug) > 63:
            return None
        with self.db.read() as conn:
            tx = Tx(conn, SYSTEM_ACTOR)
            try:
                org = sso.org_for_sign_in(tx, slug, "")
            except sso.SignInRefused:
                return None
            if not sso.is_required(tx, org):
                return None
        return (
            f"{org.name} requires SSO: Admins sign in with SSO; the Owner may still use a "
            "password (break-glass)."
        )

    async def _sign_in_again(self, request: Request, error: str) -> Response:
        return await run_in_threadpool(
            lambda: self.console._sign_in_page(request, error=error, status=404)
        )

    # /console/sso/find: the sign-in page's form

    async def find(self, request: Request) -> Response:
        who = request.query_params.get("who", "")[:320].strip()
        slug, email = ("", who) if "@" in who else (who, "")
        try:
            org_slug = await run_in_threadpool(self._find, slug, email)
        except sso.SignInRefused as exc:
            return await self._sign_in_again(request, exc.detail)
        target = f"{SSO_PATH}/start?{urlencode({'org': org_slug})}"
        return self.console.html("sso_continue.html", {"target": target})

    def _find(self, slug: str, email: str) -> str:
        with self.db.read() as conn:
            tx = Tx(conn, SYSTEM_ACTOR)
            org = sso.org_for_sign_in(tx, slug, email)
            if sso.get_connection(tx, org) is None:
                raise sso.SignInRefused(sso.NO_CONNECTION.format(name=org.name))
            return org.slug

    # /console/sso/start?org=SLUG[&test=1]

    async def start(self, request: Request) -> Response:
        slug = request.query_params.get("org", "")[:63]
        test = request.query_params.get("test") == "1"
        try:
            url, browser = await run_in_threadpool(self._start, slug, test)
        except sso.SignInRefused as exc:
            return await self._sign_in_again(request, exc.detail)
        response = RedirectResponse(url, status_code=303, headers=_NO_STORE)
        response.set_cookie(
            SSO_COOKIE,
            browser,
            max_age=int(sso.STATE_LIFETIME.total_seconds()),
            path=SSO_PATH,
            secure=self.console.secure,
            httponly=True,
            # Lax: the IdP brings the browser back with a top-level GET, which carries it.
            samesite="lax",
        )
        return response

    def _start(self, slug: str, test: bool) -> tuple[str, str]:
        with self.db.write() as conn:
            tx = Tx(conn, SYSTEM_ACTOR)
            if not slug.strip():
                raise sso.SignInRefused("Say which organization: /console/sso/start?org=<slug>")
            org = sso.org_for_sign_in(tx, slug, "")
            return sso.begin_sign_in(tx, org, public_url=self.settings.public_url, test=test)

    # /console/sso/callback?code=…&state=…

    async def callback(self, request: Request) -> Response:
        query = {k: v[:4096] for k, v in request.query_params.items()}
        browser = request.cookies.get(SSO_COOKIE)
        finished = await run_in_threadpool(self._finish, query, browser)
        if finished.token is not None:
            response: Response = RedirectResponse(
                "/console/scim", status_code=303, headers=_NO_STORE
            )
            signin.set_session_cookie(response, finished.token, secure=self.console.secure)
        else:
            response = self.console.html(finished.template, finished.context or {}, finished.status)
        response.delete_cookie(
            SSO_COOKIE, path=SSO_PATH, secure=self.console.secure, httponly=True, samesite="lax"
        )
        return response

    def _finish(self, query: dict[str, str], browser: str | None) -> _Finished:
        with self.db.write() as conn:
            tx = Tx(conn, SYSTEM_ACTOR)
            pending = sso.claim_sign_in(tx, query.get("state", ""), browser)
            if isinstance(pending, sso.Pending):
                connection = sso.get_connection(tx, pending.org)
                secret = (
                    sso.client_secret(tx, pending.org, self.settings.sealer)
                    if connection is not None
                    else None
                )
        # The state is used up (committed) before anything else is looked at.
        if isinstance(pending, sso.SignInRefused):
            return _refused(pending.detail, None)
        org = pending.org
        try:
            if connection is None:
                raise sso.SignInRefused(sso.NO_CONNECTION.format(name=org.name))
            if secret is None:
                raise sso.SignInRefused(sso.SECRET_UNREADABLE)
            if "error" in query:
                described = query.get("error_description", "")
                raise sso.SignInRefused(
                    f"The identity provider refused the sign-in ({query['error']}"
                    + (f": {described})" if described else ")")
                )
            token = oidc.exchange_code(
                connection.provider,
                client_id=connection.client_id,
                client_secret=secret,
                redirect_uri=sso.redirect_uri(self.settings.public_url),
                code=query.get("code", ""),
                code_verifier=pending.code_verifier,
            )
            claims = oidc.verify_id_token(
                connection.provider,
                client_id=connection.client_id,
                token=token,
                nonce=pending.nonce,
            )
            with self.db.write() as conn:
                tx = Tx(conn, SYSTEM_ACTOR)
                member = sso.member_for_claims(tx, org, claims)
                if pending.test:
                    return _test_result(org.name, org.slug, member.user_name, None)
                tx.actor = console_actor(member)
                session_token, _ = sessions.start_session(tx, org, member, via="SSO")
                return _Finished(token=session_token)
        except (sso.SignInRefused, oidc.OidcRefusal) as exc:
            if pending.test:
                return _test_result(org.name, org.slug, None, exc.detail)
            return _refused(exc.detail, org.slug)
        except NotFoundError:  # the org went away while the browser was at the IdP
            return _refused("This organization no longer exists", None)


_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _refused(reason: str, slug: str | None) -> _Finished:
    again = f"{signin.SIGN_IN_PATH}?{urlencode({'org': slug})}" if slug else signin.SIGN_IN_PATH
    return _Finished(
        template="sso_refused.html", context={"reason": reason, "again": again}, status=403
    )


def _test_result(name: str, slug: str, user_name: str | None, refusal: str | None) -> _Finished:
    context = {"org_name": name, "user_name": user_name, "refusal": refusal}
    return _Finished(template="sso_test.html", context=context, status=200)
