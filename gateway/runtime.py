"""What a running gateway holds: settings, engine, clock, metrics, live hub, ingest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from gateway.clock import Clock, utc_now
from gateway.config import Settings
from gateway.live import LiveHub
from gateway.metrics import Metrics


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    clock: Clock = utc_now
    metrics: Metrics = field(default_factory=Metrics)
    hub: LiveHub = field(default_factory=LiveHub)
    ingest: Any = None  # gateway.ingest.Ingest when MQTT ingest runs

    def broadcast_committed(self, messages: list[dict[str, Any]]) -> None:
        """Ingest's worker thread calls this after a commit."""
        now = self.clock()
        from gateway.clock import iso

        for m in messages:
            self.hub.publish_threadsafe({"type": "order", "event": m["event"], "now": iso(now), "order": m["order"]})
