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
from scimitar.storage.database import Database, DatabaseUrlError
from scimitar.storage.limits import ValueRefused


class CliError(Exception):
    """A problem to report as one line on stderr."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scimitar", description=__doc__)
    parser.add_argument(
        "--database-url", help="default: $SCIMITAR_DATABASE_URL or sqlite:///scimitar.db"
    )
    # Also after the command (`scimitar org create … --database-url URL`); SUPPRESS keeps
    # a command from overwriting the value given before it with None.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", parents=[common], help="run the HTTP server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--public-url", help="default: $SCIMITAR_PUBLIC_URL or http://HOST:PORT")
    serve.add_argument("--no-worker", action="store_true", help="deliver no webhooks here")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes sharing the port (default 1; use the number of cores)",
    )
    sub.add_parser(
        "worker", parents=[common], help="deliver webhooks (any number of workers may run)"
    )

    demo = sub.add_parser(
        "demo", parents=[common], help="create the demo org 'acme' (if missing) and serve"
    )
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--no-serve", action="store_true", help="set up and print, do not serve")

    org = sub.add_parser("org", parents=[common], help="organizations").add_subparsers(
        dest="action", required=True
    )
    create = org.add_parser("create", parents=[common])
    create.add_argument("--name", required=True)
    create.add_argument("--slug")
    create.add_argument("--domain", action="append", default=[], dest="domains")
    create.add_argument("--owner-email", required=True)
    create.add_argument("--owner-name", help='the Owner\'s "Given Family" name (optional)')
    create.add_argument("--group-prefix", default="Scimitar")
    org.add_parser("list", parents=[common])

    key = sub.add_parser("scim-key", parents=[common], help="SCIM keys").add_subparsers(
        dest="action", required=True
    )
    for action in ("generate", "deactivate", "regenerate"):
        key.add_parser(action, parents=[common]).add_argument("--org", required=True)

    project = sub.add_parser("project", parents=[common]).add_subparsers(
        dest="action", required=True
    )
    create = project.add_parser("create", parents=[common])
    create.add_argument("--org", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--default-role", default="Member")

    team = sub.add_parser("team", parents=[common]).add_subparsers(dest="action", required=True)
    create = team.add_parser("create", parents=[common])
    create.add_argument("--org", required=True)
    create.add_argument("--project", required=True)
    create.add_argument("--name", required=True)

    role = sub.add_parser("role", parents=[common]).add_subparsers(dest="action", required=True)
    create = role.add_parser("create", parents=[common])
    create.add_argument("--org", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--permission", action="append", default=[], dest="permissions")

    admin = sub.add_parser("admin", parents=[common]).add_subparsers(dest="action", required=True)
    password = admin.add_parser("set-password", parents=[common])
    password.add_argument("--org", required=True)
    password.add_argument("--email", required=True)
    password.add_argument("--password")

    token = sub.add_parser("api-token", parents=[common]).add_subparsers(
        dest="action", required=True
    )
    create = token.add_parser("create", parents=[common])
    create.add_argument("--org", required=True)
    create.add_argument("--name", default="api")

    operator = sub.add_parser(
        "operator-token", parents=[common], help="the host platform's operator tokens"
    ).add_subparsers(dest="action", required=True)
    operator.add_parser("create", parents=[common]).add_argument("--name", default="operator")
    operator.add_parser("list", parents=[common])
    operator.add_parser("revoke", parents=[common]).add_argument("id")
    sub.add_parser(
        "operator-audit", parents=[common], help="what operators did (newest first)"
    ).add_argument("--limit", type=int, default=100)
    sealed = sub.add_parser(
        "secrets", parents=[common], help="secrets sealed at rest (webhook signing secrets)"
    ).add_subparsers(dest="action", required=True)
    reseal = sealed.add_parser(
        "reseal", parents=[common], help="seal every stored secret under the current key"
    )
    reseal.add_argument(
        "--previous-key-env",
        metavar="VAR",
        help="environment variable holding the SCIMITAR_SECRET_KEY being replaced",
    )

    member = sub.add_parser("member", parents=[common]).add_subparsers(dest="action", required=True)
    member.add_parser("list", parents=[common]).add_argument("--org", required=True)
    remove = member.add_parser("remove", parents=[common])
    remove.add_argument("--org", required=True)
    remove.add_argument("--email", required=True)
    return parser


class Cli:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.settings = Settings.from_env(database_url=args.database_url)
        self.db = Database(self.settings.database_url)
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
        if not self.args.no_serve:
            _configure_logging(self.settings)  # a bad SCIMITAR_LOG_FORMAT stops it here
        with self.tx() as tx:
            try:
                org = organizations.get_org_by_slug(tx, "acme")
            except DomainError:
                org = organizations.create_org(
                    tx,
                    name="Acme",
                    slug="acme",
                    domains=["example.com"],
                    owner_email="owner@example.com",
                    owner_name="Olivia Owner",
                )
                structure.create_project(tx, org, "Checkout")
            key = keys.regenerate_scim_key(tx, org)
        print(f"SCIM base URL: {public}/scim")
        print(f"SCIM key:      {key}")
        print("Try:          curl -H 'Authorization: Bearer <key>' " + f"{public}/scim/Users")
        sys.stdout.flush()
        if not self.args.no_serve:
            _serve(self.settings, self.args.host, self.args.port, public)

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
        print(project.id)

    def cmd_team(self) -> None:
        with self.tx() as tx:
            org = self.org(tx)
            project = structure.find_project(tx, org, self.args.project)
            team = structure.create_team(tx, org, project, self.args.name)
        print(team.id)

    def cmd_role(self) -> None:
        with self.tx() as tx:
            role = structure.create_role(tx, self.org(tx), self.args.name, self.args.permissions)
        print(role.id)

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
) -> None:
    import uvicorn

    logging_config = _configure_logging(settings)
    settings = dataclasses.replace(settings, public_url=public_url)
    with _metrics_directory(processes):
        from scimitar.faces.app import create_app
        from scimitar.runtime.worker import DeliveryWorker, WorkerSettings

        # The webhook worker runs beside the server by default, so one process is a whole
        # deployment; `--no-worker` leaves delivery to separate `scimitar worker` processes.
        deliverer = (
            DeliveryWorker(
                Database(settings.database_url),
                WorkerSettings.from_settings(settings),
                sealer=settings.sealer,
            ).start()
            if worker
            else None
        )
        try:
            if processes == 1:
                app = create_app(settings)
                uvicorn.run(app, host=host, port=port, log_config=logging_config, access_log=False)
            else:
                # Each process builds its own app from the environment (the database is
                # already migrated: Cli did it); they share nothing but the database.
                os.environ.update(settings.to_env())
                uvicorn.run(
                    "scimitar.faces.app:create_app",
                    factory=True,
                    workers=processes,
                    host=host,
                    port=port,
                    log_config=logging_config,
                    access_log=False,
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
    except (DomainError, CliError, ValueRefused) as exc:
        print(f"scimitar: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        exit(1)
    except (DatabaseUrlError, SettingsError) as exc:
        print(f"scimitar: {exc}", file=sys.stderr)
        exit(1)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        print(f"scimitar: database error: {reason}", file=sys.stderr)
        exit(1)


if __name__ == "__main__":
    main()
