"""The `scimitar` command: serve, and everything an operator does before the console exists.

Errors are one line on stderr and exit status 1; secrets alone on stdout.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from scimitar.config import Settings, SettingsError
from scimitar.domain.context import CLI_ACTOR, Tx, utc
from scimitar.domain.directory import organizations, people, structure
from scimitar.domain.errors import DomainError
from scimitar.domain.identity import credentials, keys, operators, sealed_secrets
from scimitar.domain.identity.sealing import Sealer, SealError
from scimitar.domain.models import Org
from scimitar.faces.cli import backup, demo
from scimitar.storage.database import DatabaseUrlError
from scimitar.storage.limits import ValueRefused

FORWARDED_ALLOW_IPS = "SCIMITAR_FORWARDED_ALLOW_IPS"


class CliError(Exception):
    """A problem to report as one line on stderr."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scimitar",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--database-url", help="default: $SCIMITAR_DATABASE_URL or sqlite:///scimitar.db"
    )
    # Also after the command (`scimitar org create … --database-url URL`); SUPPRESS keeps
    # a command from overwriting the value given before it with None.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=help, description=help)

    def actions(name: str, help: str) -> Any:
        return command(name, help).add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(group: Any, name: str, help: str) -> argparse.ArgumentParser:
        made: argparse.ArgumentParser = group.add_parser(
            name, parents=[common], help=help, description=help
        )
        return made

    def org_option(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--org", required=True, metavar="SLUG", help="the organization's slug")

    serve = command("serve", "run the HTTP server (SCIM API, admin API, console, /healthz)")
    _listen_options(serve)
    serve.add_argument(
        "--public-url",
        help="the URL clients reach; default: $SCIMITAR_PUBLIC_URL or http://HOST:PORT",
    )
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="deliver no webhooks in this process (run `scimitar worker` instead)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes sharing the port (default 1; use the number of cores)",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        default=os.environ.get(FORWARDED_ALLOW_IPS) or None,
        metavar="IPS",
        help="addresses of the reverse proxy whose X-Forwarded-For/-Proto headers are "
        f"believed (comma-separated, or *); default: ${FORWARDED_ALLOW_IPS}, else none",
    )
    command("worker", "deliver webhooks in a process of its own (any number may run)")

    demo = command("demo", "create the demo org 'acme' (if missing), print a fresh SCIM key, serve")
    _listen_options(demo)
    demo.add_argument("--no-serve", action="store_true", help="set up and print, do not serve")

    backup = command(
        "backup", "copy a SQLite database while it is in use (PostgreSQL: use pg_dump)"
    )
    backup.add_argument("path", metavar="PATH", help="the file to write (must not exist)")

    org = actions("org", "create and list organizations")
    create = action(org, "create", "an organization, its built-in roles and its Owner")
    create.add_argument("--name", required=True, help="the organization's display name")
    create.add_argument("--slug", help="its short name in URLs and commands (default: from --name)")
    create.add_argument(
        "--domain",
        action="append",
        default=[],
        dest="domains",
        metavar="DOMAIN",
        help="an email domain members may have (repeat for several; none: any)",
    )
    create.add_argument("--owner-email", required=True, help="the Owner's email (and userName)")
    create.add_argument("--owner-name", help='the Owner\'s "Given Family" name (optional)')
    create.add_argument(
        "--group-prefix", default="Scimitar", help="first part of managed group names"
    )
    action(org, "list", "slug, name and allowed domains of every organization")

    key = actions("scim-key", "the organization's SCIM key (one active at a time)")
    for name, help in (
        ("generate", "print a new SCIM key (refused while one is active)"),
        ("deactivate", "stop the current key at once"),
        ("regenerate", "deactivate the current key and print a new one"),
    ):
        org_option(action(key, name, help))

    project = actions("project", "projects (each gets one role group per role)")
    create = action(project, "create", "a project and its role groups")
    org_option(create)
    create.add_argument("--name", required=True, help="the project's name")
    create.add_argument(
        "--default-role",
        default="Member",
        metavar="ROLE",
        help="the role a team membership alone gives (default Member)",
    )

    team = actions("team", "teams within a project")
    create = action(team, "create", "a team and its Admin and Member team groups")
    org_option(create)
    create.add_argument("--project", required=True, help="the project's name")
    create.add_argument("--name", required=True, help="the team's name")

    role = actions("role", "custom roles (every project gains a role group for each)")
    create = action(role, "create", "a custom role with permissions")
    org_option(create)
    create.add_argument("--name", required=True, help="the role's name")
    create.add_argument(
        "--permission",
        action="append",
        default=[],
        dest="permissions",
        metavar="PERMISSION",
        help="a permission the role grants, e.g. billing.read (repeat for several)",
    )

    admin = actions("admin", "console access for Owners and Admins")
    password = action(admin, "set-password", "give an Owner or Admin a console password")
    org_option(password)
    password.add_argument("--email", required=True, help="the member's email (userName)")
    password.add_argument(
        "--password", help="the password (default: prompt, or read a line from stdin)"
    )

    token = actions("api-token", "admin API tokens")
    create = action(token, "create", "print a new admin API token (sat-…)")
    org_option(create)
    create.add_argument("--name", default="api", help="what uses the token (default 'api')")

    member = actions("member", "list and remove members")
    org_option(action(member, "list", "userName, org role, state and id of every member"))
    remove = action(member, "remove", "remove a member (the IdP's next import unassigns them)")
    org_option(remove)
    remove.add_argument("--email", required=True, help="the member's email (userName)")

    operator = actions("operator-token", "the host platform's operator tokens (sop-…)")
    create = action(operator, "create", "print a new operator token (sop-…)")
    create.add_argument(
        "--name", default="operator", help="what uses the token (default 'operator')"
    )
    action(operator, "list", "id, name, created and last use of every operator token")
    revoke = action(operator, "revoke", "stop an operator token at once")
    revoke.add_argument("id", help="the token's id (from `operator-token list`)")
    audit = command("operator-audit", "what operators did to organizations, newest first")
    audit.add_argument("--limit", type=int, default=100, help="entries to print (default 100)")

    sealed = actions("secrets", "secrets sealed at rest (webhook and OIDC client secrets)")
    reseal = action(sealed, "reseal", "seal every stored secret under the current key")
    reseal.add_argument(
        "--previous-key-env",
        metavar="VAR",
        help="environment variable holding the SCIMITAR_SECRET_KEY being replaced",
    )
    return parser


def _listen_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")


class Cli:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.settings = Settings.from_env(database_url=args.database_url)
        self.db = self.settings.database()
        self.db.migrate()
        self.settings = self.settings.with_sealer(self.db)

    @contextmanager
    def tx(self) -> Iterator[Tx]:
        with self.db.write() as conn:
            yield Tx(conn, CLI_ACTOR)

    def org(self, tx: Tx) -> Org:
        return organizations.get_org_by_slug(tx, self.args.org)

    def run(self) -> None:
        handler = getattr(self, f"cmd_{self.args.command.replace('-', '_')}")
        handler()

    def cmd_serve(self) -> None:
        public = self.args.public_url or self.settings.public_url
        if public == Settings.public_url:
            public = f"http://{self.args.host}:{self.args.port}"
        if self.args.workers < 1:
            raise SystemExit("scimitar: --workers must be at least 1")
        _serve(
            self.settings,
            self.args.host,
            self.args.port,
            public,
            worker=not self.args.no_worker,
            processes=self.args.workers,
            forwarded_allow_ips=self.args.forwarded_allow_ips,
        )

    def cmd_worker(self) -> None:
        from scimitar.runtime.worker import DeliveryWorker, WorkerSettings

        _configure_logging(self.settings)
        worker = DeliveryWorker(
            self.db, WorkerSettings.from_settings(self.settings), sealer=self.settings.sealer
        )
        signal.signal(signal.SIGTERM, lambda *_: worker.request_stop())
        try:
            worker.run()
        except KeyboardInterrupt:
            pass
        finally:
            worker.stop()

    def cmd_demo(self) -> None:
        public = f"http://{self.args.host}:{self.args.port}"
        listening = None
        if not self.args.no_serve:
            _configure_logging(self.settings)  # a bad SCIMITAR_LOG_FORMAT stops it here
            # Before the key changes: a taken port must leave the running demo's key working.
            listening = demo.listen(self.args.host, self.args.port)
        with self.tx() as tx:
            try:
                org = organizations.get_org_by_slug(tx, demo.SLUG)
            except DomainError:
                org = demo.create_org(tx)
            key = keys.regenerate_scim_key(tx, org)
        print(demo.welcome(public, key, self.args.database_url))
        sys.stdout.flush()
        if listening is not None:
            _serve(self.settings, self.args.host, self.args.port, public, listening=listening)

    def cmd_backup(self) -> None:
        backup.backup(self.db, self.args.path)
        print(f"backed up to {self.args.path}", file=sys.stderr)

    def cmd_org(self) -> None:
        if self.args.action == "list":
            with self.tx() as tx:
                for org in organizations.list_orgs(tx):
                    domains = ",".join(org.allowed_domains) or "*"
                    print(f"{org.slug}\t{org.name}\t{domains}")
            return
        with self.tx() as tx:
            org = organizations.create_org(
                tx,
                name=self.args.name,
                slug=self.args.slug,
                domains=self.args.domains,
                owner_email=self.args.owner_email,
                group_prefix=self.args.group_prefix,
                owner_name=self.args.owner_name,
            )
        print(org.slug)

    def cmd_scim_key(self) -> None:
        with self.tx() as tx:
            org = self.org(tx)
            if self.args.action == "generate":
                print(keys.generate_scim_key(tx, org))
            elif self.args.action == "regenerate":
                print(keys.regenerate_scim_key(tx, org))
            else:
                info = keys.deactivate_scim_key(tx, org)
                print(f"deactivated key ending {info.hint}")

    def cmd_project(self) -> None:
        with self.tx() as tx:
            project = structure.create_project(
                tx, self.org(tx), self.args.name, default_role=self.args.default_role
            )
        print(f"created project {project.name!r} (id {project.id})")

    def cmd_team(self) -> None:
        with self.tx() as tx:
            org = self.org(tx)
            project = structure.find_project(tx, org, self.args.project)
            team = structure.create_team(tx, org, project, self.args.name)
        print(f"created team {team.name!r} in {project.name!r} (id {team.id})")

    def cmd_role(self) -> None:
        with self.tx() as tx:
            role = structure.create_role(tx, self.org(tx), self.args.name, self.args.permissions)
        print(f"created role {role.name!r} (id {role.id})")

    def cmd_admin(self) -> None:
        password = self.args.password
        if password is None:
            password = (
                getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline()
            ).rstrip("\n")
        with self.tx() as tx:
            org = self.org(tx)
            member = people.find_member(tx, org, self.args.email)
            if member is None:
                raise CliError(f"No member {self.args.email!r} in organization {org.slug!r}")
            credentials.set_password(tx, org, member, password)
        print(f"password set for {member.user_name}", file=sys.stderr)

    def cmd_api_token(self) -> None:
        with self.tx() as tx:
            token, _ = keys.create_api_token(tx, self.org(tx), self.args.name)
        print(token)

    def cmd_operator_token(self) -> None:
        with self.tx() as tx:
            if self.args.action == "create":
                secret, _ = operators.create_token(tx, self.args.name)
                print(secret)
            elif self.args.action == "list":
                for token in operators.list_tokens(tx):
                    state = "active" if token.active else f"revoked {_when(token.revoked)}"
                    print(
                        f"{token.id}\t{token.name}\tsop-…{token.hint}\t"
                        f"created {_when(token.created)}\tlast used {_when(token.last_used)}"
                        f"\t{state}"
                    )
            else:
                revoked = operators.revoke_token(tx, self.args.id)
                print(f"revoked operator token {revoked.name!r}", file=sys.stderr)

    def cmd_operator_audit(self) -> None:
        with self.tx() as tx:
            for entry in operators.audit_trail(tx, limit=max(1, self.args.limit)):
                org = entry.org_slug or "-"
                print(
                    f"{_when(entry.at)}\t{entry.actor_label}\t{entry.action}\t{org}\t"
                    f"{entry.resource_type} {entry.resource_id or ''}".rstrip()
                )

    def cmd_secrets(self) -> None:
        """`secrets reseal`: every sealed value under the current key, in one transaction."""
        older: list[str] = []
        if self.args.previous_key_env:
            previous = os.environ.get(self.args.previous_key_env)
            if not previous:
                raise CliError(f"{self.args.previous_key_env} is not set in the environment")
            older.append(previous)
        configured = self.settings.secret_key
        with self.tx() as tx:
            if configured is None:
                current = sealed_secrets.generated_key(tx)
                assert current is not None  # with_sealer stored it
            else:
                current = configured
                stored = sealed_secrets.generated_key(tx)
                if stored is not None:
                    older.append(stored)
            sealer = Sealer(current, older=tuple(older))
            try:
                count = sealed_secrets.reseal(tx, sealer)
            except SealError as exc:
                raise CliError(f"nothing resealed: {exc}") from None
            # Under a configured key, a generated one left in the database protects nothing.
            forgot = configured is not None and sealed_secrets.forget_generated_key(tx)
        print(f"Resealed {count} secret(s) under key {sealer.key_id}")
        if forgot:
            print("Deleted the generated key from the database (SCIMITAR_SECRET_KEY replaces it)")

    def cmd_member(self) -> None:
        with self.tx() as tx:
            org = self.org(tx)
            if self.args.action == "list":
                for member in _all_members(tx, org):
                    state = "active" if member.active else "deactivated"
                    print(f"{member.user_name}\t{member.org_role.value}\t{state}\t{member.id}")
                return
            found = people.find_member(tx, org, self.args.email)
            if found is None:
                raise CliError(f"No member {self.args.email!r} in organization {org.slug!r}")
            people.remove_member(tx, org, found)
        print(f"removed {found.user_name}", file=sys.stderr)


def _when(at: datetime | None) -> str:
    return utc(at).strftime("%Y-%m-%dT%H:%M:%SZ") if at is not None else "never"


def _all_members(tx: Tx, org: Org) -> Iterator[Any]:
    offset = 0
    while page := people.list_members(tx, org, limit=500, offset=offset):
        yield from page
        offset += len(page)


def _serve(
    settings: Settings,
    host: str,
    port: int,
    public_url: str,
    *,
    worker: bool = True,
    processes: int = 1,
    forwarded_allow_ips: str | None = None,
    listening: socket.socket | None = None,
) -> None:
    """Serve until stopped; `listening` is a socket already bound (the demo binds first).
    Forwarded headers are believed only from `forwarded_allow_ips` (none by default)."""
    import uvicorn

    logging_config = _configure_logging(settings)
    settings = dataclasses.replace(settings, public_url=public_url)
    with _metrics_directory(processes):
        from scimitar.faces.app import create_served_app
        from scimitar.runtime.worker import DeliveryWorker, WorkerSettings

        # The webhook worker runs beside the server by default, so one process is a whole
        # deployment; `--no-worker` leaves delivery to separate `scimitar worker` processes.
        deliverer = (
            DeliveryWorker(
                settings.database(),
                WorkerSettings.from_settings(settings),
                sealer=settings.sealer,
            ).start()
            if worker
            else None
        )
        try:
            trusted = forwarded_allow_ips or ""
            if processes == 1:
                config = uvicorn.Config(
                    create_served_app(settings),
                    host=host,
                    port=port,
                    log_config=logging_config,
                    access_log=False,
                    proxy_headers=bool(trusted),
                    forwarded_allow_ips=trusted,
                )
                server = uvicorn.Server(config)
                server.run(sockets=[listening] if listening else None)
                if not server.started:
                    raise SystemExit(3)  # uvicorn has logged why (as `uvicorn.run` does)
            else:
                # Each process builds its own app from the environment (the database is
                # already migrated: Cli did it); they share nothing but the database.
                os.environ.update(settings.to_env())
                uvicorn.run(
                    "scimitar.faces.app:create_served_app",
                    factory=True,
                    workers=processes,
                    host=host,
                    port=port,
                    log_config=logging_config,
                    access_log=False,
                    proxy_headers=bool(trusted),
                    forwarded_allow_ips=trusted,
                )
        finally:
            if deliverer is not None:
                deliverer.stop()


def _configure_logging(settings: Settings) -> dict[str, Any]:
    """Logs of a long-running command (`serve`, `worker`) as `SCIMITAR_LOG_FORMAT` says."""
    import logging.config

    from scimitar.runtime.logs import log_config

    try:
        config = log_config(settings.log_format)
    except ValueError as exc:
        raise SystemExit(f"scimitar: SCIMITAR_LOG_FORMAT: {exc}") from None
    logging.config.dictConfig(config)
    return config


@contextmanager
def _metrics_directory(processes: int) -> Iterator[None]:
    """Several server processes count into files of one directory (prometheus_client's
    multiprocess mode), made here unless the operator named one; set before any process
    creates a metric."""
    from scimitar.runtime.metrics import MULTIPROCESS_DIR

    if processes == 1 or os.environ.get(MULTIPROCESS_DIR):
        yield
        return
    directory = tempfile.mkdtemp(prefix="scimitar-metrics-")
    os.environ[MULTIPROCESS_DIR] = directory
    try:
        yield
    finally:
        os.environ.pop(MULTIPROCESS_DIR, None)
        shutil.rmtree(directory, ignore_errors=True)


def main(argv: Sequence[str] | None = None, *, exit: Callable[[int], Any] = sys.exit) -> None:
    args = _parser().parse_args(argv)
    try:
        Cli(args).run()
    except (DomainError, CliError, ValueRefused, backup.BackupError, demo.PortTaken) as exc:
        print(f"scimitar: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        exit(1)
    except (DatabaseUrlError, SettingsError) as exc:
        print(f"scimitar: {exc}", file=sys.stderr)
        exit(1)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        print(f"scimitar: database error: {reason}", file=sys.stderr)
        exit(1)
