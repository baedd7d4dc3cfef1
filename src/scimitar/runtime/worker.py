"""The webhook delivery worker: runs inside `scimitar serve`, or alone as `scimitar worker`.

Each round: fan new events out into deliveries, claim the due deliveries (a lease), send
them concurrently, record each attempt. Any number of workers, in any number of processes,
can share one database: claims skip rows another worker holds (domain.deliveries).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import timedelta

import orjson

from scimitar.config import Settings
from scimitar.domain.context import SYSTEM_ACTOR, Tx
from scimitar.domain.events import deliveries
from scimitar.domain.events.addresses import AllowList
from scimitar.domain.events.deliveries import Job, Result, RetryPolicy
from scimitar.domain.identity.sealed_secrets import webhook_context
from scimitar.domain.identity.sealing import Sealer, is_sealed
from scimitar.runtime.outbound import Sender
from scimitar.storage.database import Database
from scimitar.webhooks import SIGNATURE_HEADER, sign

log = logging.getLogger("scimitar.webhooks")
USER_AGENT = "Scimitar-Webhooks/1"


@dataclass(frozen=True)
class WorkerSettings:
    allowed_hosts: AllowList = field(default_factory=AllowList)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: How long an idle worker sleeps before looking again.
    poll_interval: float = 0.5
    #: Deliveries claimed per round, at most `concurrency`: each one claimed is sent at once,
    #: so its lease only has to outlast one post.
    batch: int = 50
    concurrency: int = 8
    #: The shortest lease; the worker lengthens it to outlast its slowest possible post.
    lease: timedelta = timedelta(seconds=60)
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerSettings:
        """The worker's share of the deployment's settings (`config.Settings`)."""
        base = timedelta(seconds=settings.webhook_backoff_seconds)
        retry = RetryPolicy(
            base=base,
            cap=max(timedelta(hours=6), base),
            give_up_after=timedelta(hours=settings.webhook_retry_hours),
        )
        return cls(
            allowed_hosts=settings.webhook_hosts,
            retry=retry,
            timeout=settings.webhook_timeout,
        )


def request_of(job: Job, sealer: Sealer) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery attempt, signed now (the secret is opened here
    and kept nowhere)."""
    stored = job.sealed_secret
    # In clear only if an older process wrote it during a rolling upgrade (the next start
    # seals it): signing with it exposes nothing more than the row already does.
    secret = (
        sealer.unseal(stored, context=webhook_context(job.endpoint_id))
        if is_sealed(stored)
        else stored
    )
    body = orjson.dumps(job.event)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: sign(body, secret),
        "Scimitar-Event-Id": str(job.event["id"]),
        "Scimitar-Event-Type": str(job.event["type"]),
        "Scimitar-Delivery-Id": job.delivery_id,
    }
    return body, headers


class DeliveryWorker:
    def __init__(self, db: Database, settings: WorkerSettings, *, sealer: Sealer) -> None:
        self.db = db
        self.sealer = sealer
        self.settings = settings
        self.sender = Sender(self.settings.allowed_hosts, timeout=self.settings.timeout)
        self.pool = ThreadPoolExecutor(self.settings.concurrency, "webhook-send")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def lease(self) -> timedelta:
        """Long enough for one post (a round claims no more than it sends at once)."""
        return max(self.settings.lease, timedelta(seconds=2 * self.sender.longest))

    def run_once(self) -> int:
        """One round; returns how much it did (0: nothing was waiting)."""
        with self.db.write() as conn:
            examined = deliveries.fan_out(Tx(conn, SYSTEM_ACTOR))
        with self.db.write() as conn:
            jobs = deliveries.claim(
                Tx(conn, SYSTEM_ACTOR),
                limit=min(self.settings.batch, self.settings.concurrency),
                lease=self.lease,
            )
        sending = [self.pool.submit(self._send, job) for job in jobs]
        for done in as_completed(sending):
            self._record(*done.result())
        return examined + len(jobs)

    def _send(self, job: Job) -> tuple[Job, Result]:
        try:
            body, headers = request_of(job, self.sealer)
            return job, self.sender.post(job.url, body, headers)
        except Exception as exc:  # a job that cannot even be built is a failed attempt
            return job, Result(None, 0, f"{type(exc).__name__}: {exc}")

    def _record(self, job: Job, result: Result) -> None:
        # One transaction per result, as it comes: a slow endpoint delays no one's record.
        try:
            with self.db.write() as conn:
                deliveries.record(Tx(conn, SYSTEM_ACTOR), job, result, self.settings.retry)
        except Exception:  # its lease runs out and it is sent again
            log.exception("could not record webhook delivery %s", job.delivery_id)

    def run(self) -> None:
        """Work until `stop()`; a database or network hiccup is logged and retried."""
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # the worker must outlive a bad round
                log.exception("webhook delivery round failed")
                busy = 0
            if not busy:
                self._stop.wait(self.settings.poll_interval)

    def start(self) -> DeliveryWorker:
        """Run in a background thread (inside `scimitar serve`)."""
        self._thread = threading.Thread(target=self.run, name="webhook-worker", daemon=True)
        self._thread.start()
        return self

    def request_stop(self) -> None:
        """Finish the current round, then stop (safe from a signal handler)."""
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.pool.shutdown(wait=True)
        self.sender.close()
