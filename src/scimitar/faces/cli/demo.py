"""`scimitar demo`: the org `acme` to try Scimitar with, and what to do next, ready to paste."""

from __future__ import annotations

import errno
import os
import shlex
import socket
import sys
from pathlib import Path

from scimitar.domain.context import Tx
from scimitar.domain.directory import organizations, structure
from scimitar.domain.models import Org

SLUG = "acme"
OWNER = "owner@example.com"


class PortTaken(Exception):
    """The demo cannot listen where it was asked to (nothing has been changed)."""


def create_org(tx: Tx) -> Org:
    org = organizations.create_org(
        tx,
        name="Acme",
        slug=SLUG,
        domains=["example.com"],
        owner_email=OWNER,
        owner_name="Olivia Owner",
    )
    structure.create_project(tx, org, "Checkout")
    return org


def listen(host: str, port: int) -> socket.socket:
    """A socket bound and listening on host:port, for uvicorn to serve on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = "the port is in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise PortTaken(
            f"cannot listen on {host}:{port}: {reason}; choose another with --port "
            "(the SCIM key was not changed)"
        ) from None
    sock.set_inheritable(True)
    return sock


def scimitar_command() -> str:
    """How this shell can run `scimitar` again: the venv's script, relative when it can be."""
    script = Path(sys.executable).parent / "scimitar"
    try:
        return str(Path(os.path.relpath(script)))
    except ValueError:
        return str(script)


def welcome(public: str, key: str, database_url: str | None) -> str:
    """The SCIM base URL and key, a request that works as pasted, and the console."""
    scimitar = shlex.quote(scimitar_command())
    if database_url:
        scimitar += " --database-url " + shlex.quote(database_url)
    users = shlex.quote(f"{public}/scim/Users")
    return "\n".join(
        [
            f"SCIM base URL: {public}/scim",
            f"SCIM key:      {key}",
            f"Try:           curl -H 'Authorization: Bearer {key}' {users}",
            f"Console:       {public}/console  (organization {SLUG}, {OWNER})",
            f"Password:      {scimitar} admin set-password --org {SLUG} --email {OWNER}",
        ]
    )
