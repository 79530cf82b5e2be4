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

from device_adapters.serial_bridge import BridgeStats, Outbox, OutboxPublisher
from firmware_sim.encoding import Message


class HomeUnit:
    def __init__(self, unit_id: str, outbox_path: str | Path, mqtt_url: str, **kw: Any) -> None:
        self.unit_id = unit_id
        self.outbox_path = str(outbox_path)
        self._publisher = OutboxPublisher(outbox_path, mqtt_url, unit_id, client_id=f"shewu-unit-{unit_id}", **kw)
        self._local = threading.local()  # an outbox connection per calling thread (SQLite's rule)
        self._boxes: list[Outbox] = []
        self._lock = threading.Lock()
        self._started = False

    def start(self) -> HomeUnit:
        self._publisher.start()
        self._started = True
        return self

    def stop(self) -> None:
        self._started = False
        self._publisher.stop()
        with self._lock:
            for box in self._boxes:
                box.close()
            self._boxes.clear()
        self._local = threading.local()

    def __enter__(self) -> HomeUnit:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def publish(self, message: Message) -> None:
        """Keep one native message (durable when this returns) and wake the publisher."""
        if not self._started:
            raise RuntimeError("the home unit is not started")
        box = getattr(self._local, "box", None)
        if box is None:
            box = self._local.box = Outbox(self.outbox_path)
            with self._lock:
                self._boxes.append(box)
        box.append(message.topic, message.payload)
        self._publisher.notify()

    def pending(self) -> int:
        """Events not yet confirmed by the gateway."""
        return self._publisher.pending()

    @property
    def stats(self) -> BridgeStats:
        return self._publisher.stats
