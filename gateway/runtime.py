"""What a running gateway holds: settings, engine, clock, metrics, live hub, ingest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from gateway.clock import Clock, iso, utc_now
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
    bus: Any = None  # gateway.live_bus.LiveBus: changes to and from the other instances
    stoppers: list[Callable[[], None]] = field(default_factory=list)  # run at shutdown, after ingest

    def broadcast(self, event: str, order: dict[str, Any]) -> None:
        """Show a committed order change on every board: this instance's, and through the
        live bus the other instances'. Safe to call from any thread."""
        message = {"type": "order", "event": event, "now": iso(self.clock()), "order": order}
        self.hub.publish(message)
        if self.bus is not None:
            self.bus.publish(message)

    def broadcast_committed(self, changes: list[dict[str, Any]]) -> None:
        """Ingest's worker thread calls this after a commit."""
        for change in changes:
            self.broadcast(change["event"], change["order"])
