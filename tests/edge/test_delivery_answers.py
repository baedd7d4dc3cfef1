"""What a webhook receiver answers is recorded even when no database could store it as is
(NUL bytes, invalid UTF-8): the attempt is kept with U+FFFD in their place, on both engines,
rather than the record failing and the delivery looping."""

from __future__ import annotations

from datetime import timedelta

from scimitar.domain.context import SYSTEM_ACTOR, Tx
from scimitar.domain.directory import people
from scimitar.domain.events import deliveries, webhooks
from scimitar.domain.events.addresses import AllowList
from scimitar.storage.database import Database
from tests.domain.events.helpers import sealer
from tests.domain.helpers import make_org, user_doc


def test_a_receivers_nul_bytes_do_not_stop_the_record(db: Database) -> None:
    """Result with NUL and a lone surrogate → recorded, succeeded, characters replaced."""
    sealed_by = sealer(db)
    with db.write() as conn:
        tx = Tx(conn, SYSTEM_ACTOR)
        org = make_org(tx)
        url = "https://hooks.example.com/in"
        webhooks.create_endpoint(
            tx, org, url, ["member.created"], allow=AllowList(), sealer=sealed_by
        )
        people.create_member(tx, org, user_doc("a@example.com"))
    with db.write() as conn:
        deliveries.fan_out(Tx(conn, SYSTEM_ACTOR))
    with db.write() as conn:
        job = deliveries.claim(Tx(conn, SYSTEM_ACTOR), limit=10, lease=timedelta(minutes=1))[-1]
    answer = deliveries.Result(200, 7, error="bad\x00", response_excerpt="ok\x00\ud800!")
    with db.write() as conn:
        assert deliveries.record(Tx(conn, SYSTEM_ACTOR), job, answer, deliveries.RetryPolicy())
    with db.read() as conn:
        delivery = webhooks.get_delivery(Tx(conn, SYSTEM_ACTOR), org, job.delivery_id)
    assert delivery.state == "succeeded"
    assert delivery.log[0].response_excerpt == "ok\ufffd\ufffd!"
