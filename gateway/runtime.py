"""What a running gateway holds: settings, engine, clock, metrics, live hub, ingest."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from gateway.clock import Clock, iso, utc_now
from gateway.config import Settings
from gateway.live import LiveHub
from gateway.metrics import Metrics
from gateway.views import order_json


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    clock: Clock = utc_now
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))  # from settings.time_zone
    metrics: Metrics = field(default_factory=Metrics)
    hub: LiveHub = field(default_factory=LiveHub)
    ingest: Any = None  # gateway.ingest.Ingest when MQTT ingest runs
    bus: Any = None  # gateway.live_bus.LiveBus: changes to and from the other instances
    scheduler: Any = None  # gateway.scheduler.Scheduler: escalation steps as they fall due
    notify: Any = None  # gateway.notify.dispatcher.NotifySender: the notification outbox
    peers: Any = None  # gateway.peers.PeerWatch: adopts the MQTT session of a peer instance that died
    outage: Any = None  # gateway.outage.OutageAlarm: tells the on-call team when alarms cannot be stored
    stoppers: list[Callable[[], None]] = field(default_factory=list)  # run at shutdown, after ingest
    started: float = field(default_factory=time.monotonic)
    # In the transaction that assigns an order / fires a ladder step: queue the notifications.
    on_assigned: Callable[..., None] | None = None
    on_step: Callable[..., None] | None = None  # (session, [(order, step)], now)

    def send_live(self, message: dict[str, Any]) -> None:
        """To every board: this instance's, and through the live bus the other instances'.
        Safe to call from any thread."""
        self.hub.publish(message)
        if self.bus is not None:
            self.bus.publish(message)

    def broadcast(self, event: str, order: dict[str, Any]) -> None:
        """Show a committed order change on every board."""
        self.send_live({"type": "order", "event": event, "now": iso(self.clock()), "order": order})

    def wake_notify(self) -> None:
        """After a commit that queued notifications: send them now, not at the next poll."""
        if self.notify is not None:
            self.notify.wake()

    def broadcast_escalations(self, fired: list[Any]) -> None:
        """The scheduler calls this after committing fired escalation steps."""
        self.wake_notify()
        now = iso(self.clock())
        for f in fired:
            if f.order is not None:  # the step changed the order (automatic dispatch)
                self.broadcast("updated", order_json(f.order, self.clock()))
                continue
            self.send_live({"type": "escalation", "now": now, "order_id": f.order_id, "step": f.step,
                            "audience": list(f.audience), "breach": f.breach})

    def broadcast_committed(self, changes: list[dict[str, Any]]) -> None:
        """Ingest's worker thread calls this after a commit."""
        for change in changes:
            self.broadcast(change["event"], change["order"])
