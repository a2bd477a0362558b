"""``GET /metrics``: what ops' Prometheus scrapes — messages out and failed sends per account,
the outbox's queue and its oldest row's age, dead letters, the order pipeline's latency."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from bot.base.transport import TransportError
from tests.fakes import FakeTransport
from tests.support import START, order_event, post_event
from tests.test_sender import FakeTime, queue, sender_for


async def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(await response.text())
        for sample in family.samples
    }


async def test_metrics_count_sends_and_failures_per_account_and_show_the_queue_with_its_oldest_age(services, client):
    await queue(services, {"target": "a", "text": "1"}, {"target": "b", "text": "2"}, {"target": "c", "text": "3"})
    transport = FakeTransport(fail_next=[TransportError("busy")])
    sender = sender_for(services, transport, FakeTime())
    await sender.send_next()  # fails, retried later
    await sender.send_next()  # "2" goes
    services.clock.at = START + timedelta(seconds=90)

    seen = await scrape(client)

    assert seen[("distbot_messages_out_total", (("account", "helper"), ("kind", "text")))] == 1
    assert seen[("distbot_send_failures_total", (("account", "helper"), ("reason", "TransportError")))] == 1
    assert seen[("distbot_outbox_queued", (("account", "helper"),))] == 2
    assert seen[("distbot_outbox_oldest_queued_seconds", (("account", "helper"),))] == 90
    assert seen[("distbot_outbox_dead", (("account", "helper"),))] == 0


async def test_each_order_event_is_timed_from_arrival_to_commit_by_outcome(services, client):
    status, _ = await post_event(client, order_event("o-m-1", ref="DEMOC001"))
    assert status == 200
    await post_event(client, order_event("o-m-1", ref="DEMOC001"))  # the shop's retry: a duplicate

    seen = await scrape(client)

    assert seen[("distbot_order_pipeline_seconds_count", (("outcome", "accepted"),))] == 1
    assert seen[("distbot_order_pipeline_seconds_count", (("outcome", "Duplicate"),))] == 1
