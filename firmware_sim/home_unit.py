"""A simulated Shewu home unit: the box in a resident's home that its SOS button, fall radar and
leak detector report to. Like the real firmware it keeps every event on its own storage (an SQLite
outbox) until the gateway confirms the event's effect is committed, and publishes on its edge
prefix ``shewu/v1/edge/<unit_id>/<device_id>/event`` (docs/wire-formats.md).

Use it as the ``publish`` of a :class:`firmware_sim.transport.Sender` with the native format.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from device_adapters.edge.outbox import BridgeStats, Outbox, OutboxPublisher
from firmware_sim.encoding import Message


class HomeUnit:
    def __init__(self, unit_id: str, outbox_path: str | Path, mqtt_url: str, **kw: Any) -> None:
        self.unit_id = unit_id
        self.outbox_path = str(outbox_path)
        self._publisher = OutboxPublisher(outbox_path, mqtt_url, unit_id, client_id=f"shewu-unit-{unit_id}", **kw)
        self._box: Outbox | None = None  # the devices' side of the outbox (any thread, one at a time)
        self._lock = threading.Lock()

    def start(self) -> HomeUnit:
        with self._lock:
            self._box = Outbox(self.outbox_path, any_thread=True)
        self._publisher.start()
        return self

    def stop(self) -> None:
        self._publisher.stop()
        with self._lock:
            if self._box is not None:
                self._box.close()
                self._box = None

    def __enter__(self) -> HomeUnit:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def publish(self, message: Message) -> None:
        """Keep one native message (durable when this returns) and wake the publisher."""
        with self._lock:
            if self._box is None:
                raise RuntimeError("the home unit is not started")
            self._box.append(message.topic, message.payload)
        self._publisher.notify()

    def pending(self) -> int:
        """Events not yet confirmed by the gateway."""
        return self._publisher.pending()

    @property
    def stats(self) -> BridgeStats:
        return self._publisher.stats
