"""`scimitar` run as a separate process, for what only a real server shows."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

SCIMITAR = Path(sys.executable).parent / "scimitar"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_serve(
    database_url: str, *options: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """`scimitar serve` on a free port, once it answers; returns the process (its stderr
    piped, its own session: stop it with `os.killpg`) and its base URL."""
    port = free_port()
    server = subprocess.Popen(
        [str(SCIMITAR), "--database-url", database_url, "serve", "--port", str(port), *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/readyz", timeout=1)
            return server, base
        except httpx.TransportError:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
