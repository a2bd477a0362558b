"""What ``GET /metrics`` exposes, in Prometheus's format (prometheus-client).

One :class:`Metrics` per process, kept by the root object (``env.kept(Metrics)``) with its own
registry — no module-level registry, so tests and several bots in one process do not share
counts. Counters count what this process did (messages in and out, send failures, dead
letters, order pipeline latency); the outbox's gauges (queued, oldest queued age, dead letters)
are read from the database at each scrape and are the same on every process; lease and
leader gauges say what this process holds. Sum counters over the fleet's processes.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["CONTENT_TYPE", "Metrics"]


class Metrics:
    def __init__(self) -> None:
        registry = self.registry = CollectorRegistry(auto_describe=True)
        self.messages_in = Counter(
            "distbot_messages_in",
            "Events received from a transport, by helper account and kind",
            ["account", "kind"],
            registry=registry,
        )
        self.messages_out = Counter(
            "distbot_messages_out",
            "Outbox rows sent, by helper account and kind",
            ["account", "kind"],
            registry=registry,
        )
        self.send_failures = Counter(
            "distbot_send_failures",
            "Sends that failed, by helper account and reason",
            ["account", "reason"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "distbot_dead_letters", "Outbox rows this process dead-lettered", ["account"], registry=registry
        )
        self.outbox_queued = Gauge("distbot_outbox_queued", "Outbox rows queued", ["account"], registry=registry)
        self.outbox_oldest = Gauge(
            "distbot_outbox_oldest_queued_seconds",
            "Age of the oldest queued outbox row",
            ["account"],
            registry=registry,
        )
        self.outbox_dead = Gauge("distbot_outbox_dead", "Outbox rows dead-lettered", ["account"], registry=registry)
        self.order_latency = Histogram(
            "distbot_order_pipeline_seconds",
            "From an order event's arrival to its ledger lines and messages committed, by outcome",
            ["outcome"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )
        self.lease_held = Gauge(
            "distbot_lease_held", "1 while this process holds the lease", ["lease"], registry=registry
        )
        self.lease_held_seconds = Gauge(
            "distbot_lease_held_seconds", "How long this process has held the lease", ["lease"], registry=registry
        )
        self.leader = Gauge("distbot_leader", "1 while this process leads the fleet", registry=registry)
        self.scheduler_lag = Gauge(
            "distbot_scheduler_lag_seconds", "How late the job's last run started", ["job"], registry=registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
