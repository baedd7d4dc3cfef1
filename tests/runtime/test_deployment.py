"""The production layout of docs/deployment.md, for real: Debian's nginx with TLS (the
example config from deploy/, ports and paths substituted) in front of two `scimitar serve`
processes and a `scimitar worker` on a fresh PostgreSQL database. A SCIM flow and a webhook
delivery go through https, and the public URL is what clients see in `meta.location`."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import signal
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import create_engine, text

from scimitar.webhooks import verify
from tests.conftest import ENGINES, PG_SERVER
from tests.domain.events.receiver import receiver
from tests.processes import SCIMITAR, free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "nginx" / "scimitar.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"deployment test cannot run: {reason}")
    pytest.skip(f"deployment test cannot run: {reason}")


@pytest.fixture
def fresh_pg() -> Iterator[str]:
    if "postgresql" not in ENGINES:
        _unavailable("PostgreSQL is not among SCIMITAR_TEST_DATABASES")
    if not Path(NGINX).exists():
        _unavailable("nginx is not installed (scripts/test installs it)")
    name = f"scimitar_deploy_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_SERVER.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def nginx_config(
    directory: Path, cert: Path, key: Path, ports: dict[str, int], upstreams: list[int]
) -> Path:
    """deploy/nginx/scimitar.conf with this test's ports and certificate, inside a main
    config that keeps every file nginx writes in `directory`; plus a TLS front for the
    webhook receiver."""
    site = EXAMPLE.read_text()
    replacements = {
        "listen 443 ssl": f"listen 127.0.0.1:{ports['https']} ssl",
        "listen 80;": f"listen 127.0.0.1:{ports['http']};",
        "server 127.0.0.1:8001": f"server 127.0.0.1:{upstreams[0]}",
        "server 127.0.0.1:8002": f"server 127.0.0.1:{upstreams[1]}",
        "/etc/letsencrypt/live/scimitar.example.com/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/scimitar.example.com/privkey.pem": str(key),
    }
    for old, new in replacements.items():
        assert old in site, old
        site = site.replace(old, new)
    (directory / "scimitar.conf").write_text(site)
    temp = {kind: directory / kind for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    main = directory / "nginx.conf"
    main.write_text(
        f"""
{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {temp["client_body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {directory}/scimitar.conf;
    server {{
        listen 127.0.0.1:{ports["hooks"]} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{ proxy_pass http://127.0.0.1:{ports["receiver"]}; }}
    }}
}}
"""
    )
    return main


def _wait_for(url: str, process: subprocess.Popen[bytes], **kwargs: object) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url, timeout=2, **kwargs)  # type: ignore[arg-type]
            return
        except httpx.TransportError:
            if process.poll() is not None:
                raise AssertionError(process.stderr.read() if process.stderr else b"") from None
            assert time.monotonic() < deadline, f"{url} did not answer"
            time.sleep(0.1)


def _cli(database_url: str, *argv: str) -> str:
    done = subprocess.run(
        [str(SCIMITAR), "--database-url", database_url, *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_nginx_tls_two_servers_and_a_worker_on_postgresql(fresh_pg: str, tmp_path: Path) -> None:
    """Through nginx over https: SCIM creates and finds a user (meta.location on the public
    URL), the admin API subscribes a webhook, the worker delivers the signed event over
    https; both servers started at once on the fresh database and both answer."""
    cert, key = self_signed(tmp_path)
    upstreams = [free_port(), free_port()]
    ports = {"https": free_port(), "http": free_port(), "hooks": free_port()}
    public = f"https://127.0.0.1:{ports['https']}"
    env = {
        **os.environ,
        "SCIMITAR_DATABASE_URL": fresh_pg,
        "SCIMITAR_PUBLIC_URL": public,
        "SCIMITAR_FORWARDED_ALLOW_IPS": "127.0.0.1",
        "SCIMITAR_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "SSL_CERT_FILE": str(cert),  # the worker trusts the receiver's certificate
    }
    processes: list[subprocess.Popen[bytes]] = []

    def start(*argv: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        processes.append(process)
        return process

    with receiver() as hook:
        ports["receiver"] = int(hook.url.rsplit(":", 1)[1].split("/")[0])
        config = nginx_config(tmp_path, cert, key, ports, upstreams)
        try:
            servers = [
                start(str(SCIMITAR), "serve", "--port", str(port), "--no-worker")
                for port in upstreams
            ]
            for port, server in zip(upstreams, servers, strict=True):
                _wait_for(f"http://127.0.0.1:{port}/readyz", server)
            start(str(SCIMITAR), "worker")
            nginx = start(NGINX, "-p", str(tmp_path), "-c", str(config), "-g", "daemon off;")
            _wait_for(f"{public}/healthz", nginx, verify=ssl.create_default_context(cafile=cert))

            org = ["--name", "Acme", "--slug", "acme", "--owner-email", "owner@example.com"]
            _cli(fresh_pg, "org", "create", *org)
            scim_key = _cli(fresh_pg, "scim-key", "generate", "--org", "acme")
            token = _cli(fresh_pg, "api-token", "create", "--org", "acme")

            with httpx.Client(
                base_url=public, verify=ssl.create_default_context(cafile=cert), timeout=30
            ) as client:
                plain = httpx.get(f"http://127.0.0.1:{ports['http']}/healthz")
                assert plain.status_code == 301
                assert plain.headers["location"].startswith("https://")
                hook_url = f"https://127.0.0.1:{ports['hooks']}/hooks"
                hooked = client.post(
                    "/api/v1/webhooks",
                    json={"url": hook_url, "events": ["member.created"]},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert hooked.status_code == 201, hooked.text
                secret = hooked.json()["secret"]

                scim = {"Authorization": f"Bearer {scim_key}"}
                user = {"schemas": [USER], "userName": "ada@example.com"}
                created = client.post("/scim/Users", json=user, headers=scim)
                assert created.status_code == 201, created.text
                location = created.json()["meta"]["location"]
                assert location == f"{public}/scim/Users/{created.json()['id']}"
                assert created.headers["location"] == location
                found = client.get(
                    "/scim/Users", params={"filter": 'userName eq "ada@example.com"'}, headers=scim
                )
                assert found.status_code == 200 and found.json()["totalResults"] == 1
                assert found.json()["Resources"][0]["meta"]["location"] == location
                # Each upstream answers (nginx balances over both).
                path = f"/scim/Users/{created.json()['id']}"
                for port in upstreams:
                    direct = httpx.get(f"http://127.0.0.1:{port}{path}", headers=scim)
                    assert direct.json()["meta"]["location"] == location
                # Behind the trusted proxy, redirects keep the client's https scheme.
                slash = client.get("/api/v1/", follow_redirects=False)
                assert slash.headers["location"].startswith(f"{public}/api/v1")

            deadline = time.monotonic() + 60
            while not hook.received and time.monotonic() < deadline:
                time.sleep(0.1)
            assert hook.received, _delivery_state(fresh_pg)
            delivery = hook.received[0]
            headers = {k.lower(): v for k, v in delivery.headers.items()}
            assert verify(delivery.body, headers["scimitar-signature"], secret)
            event = json.loads(delivery.body)
            assert event["type"] == "member.created"
        finally:
            for process in reversed(processes):
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
    engine = create_engine(fresh_pg)
    with engine.connect() as conn:
        assert len(conn.execute(text("SELECT version_num FROM alembic_version")).all()) == 1
    engine.dispose()


def _delivery_state(database_url: str) -> str:
    """Why no delivery arrived: the deliveries and attempts as the database has them."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        deliveries = conn.execute(text("SELECT state, attempts FROM webhook_deliveries")).all()
        attempts = conn.execute(text("SELECT status, error FROM webhook_attempts")).all()
    engine.dispose()
    return f"no webhook delivery arrived: deliveries {deliveries}, attempts {attempts}"
