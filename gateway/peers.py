"""Adopting the MQTT session of a gateway instance that is gone (DESIGN invariants 1 and 7).

Several instances share one subscription (``$share/<group>/...``), each with a persistent session.
Mosquitto keeps dealing a dead instance its share of the messages, queued in its session until it
comes back (or until the session expires, when they are dropped: checked against Mosquitto 2.0).
So an SOS dealt to a crashed instance would wait for that instance.

Each instance's ingest client announces itself, retained, on ``shewu/v1/gateway/<id>/ingest``:
``online`` when connected, ``offline`` as its MQTT will (a crash) and when it stops. Every instance
watches these. When an instance has been offline for ``grace`` seconds, the live instance with the
lowest id *adopts* its session: it connects a second ingest client with the dead instance's client
id, which drains what was queued there and takes that share from then on. When the instance comes
back it takes its session over; the broker disconnects the adopter ("session taken over") and the
adopter stops for good. If the adopting instance dies too, the next lowest adopts both.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

PRESENCE_PREFIX = "shewu/v1/gateway/"
PRESENCE_SUFFIX = "/ingest"
PRESENCE_FILTER = "shewu/v1/gateway/+/ingest"
ONLINE, OFFLINE = b"online", b"offline"
GRACE_S = 2.0


def presence_topic(instance_id: str) -> str:
    return f"{PRESENCE_PREFIX}{instance_id}{PRESENCE_SUFFIX}"


def instance_of(topic: str) -> str | None:
    if topic.startswith(PRESENCE_PREFIX) and topic.endswith(PRESENCE_SUFFIX):
        name = topic[len(PRESENCE_PREFIX):-len(PRESENCE_SUFFIX)]
        return name if name and "/" not in name else None
    return None


class Adopter(Protocol):
    def start(self) -> None: ...

    def stop(self, timeout: float = 10.0) -> None: ...

    @property
    def released(self) -> bool: ...


def adoptions(me: str, statuses: dict[str, tuple[bool, float]], now: float, grace: float) -> set[str]:
    """The instances whose sessions ``me`` should hold now: those offline for at least ``grace``
    seconds, if ``me`` is the lowest id among the instances online (``me`` counts as online).
    ``statuses``: instance → (online, since when, time.monotonic())."""
    online = {name for name, (up, _) in statuses.items() if up} | {me}
    if min(online) != me:
        return set()
    return {name for name, (up, since) in statuses.items() if name != me and not up and now - since >= grace}


class PeerWatch:
    def __init__(self, *, instance_id: str, adopt: Callable[[str], Adopter] | None = None, grace: float = GRACE_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.instance_id = instance_id
        self.adopt = adopt  # peer instance id → an adopter (set before start)
        self._grace = grace
        self._monotonic = monotonic
        self._statuses: dict[str, tuple[bool, float]] = {}
        self._adopted: dict[str, Adopter] = {}
        self._lock = threading.Lock()  # the statuses (written by the live bus's thread)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shewu-peer-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(15)
        for adopter in self._adopted.values():
            adopter.stop()
        self._adopted = {}

    @property
    def adopted(self) -> list[str]:
        return sorted(self._adopted)

    def on_presence(self, topic: str, payload: bytes) -> None:
        """A retained presence message (from the live bus's client)."""
        name = instance_of(topic)
        if name is None or name == self.instance_id or payload not in (ONLINE, OFFLINE):
            return
        up = payload == ONLINE
        with self._lock:
            known = self._statuses.get(name)
            if known is None or known[0] != up:
                self._statuses[name] = (up, self._monotonic())
                log.info("gateway instance %s is %s", name, "online" if up else "offline")
        self._wake.set()

    def reconcile(self) -> None:
        """Start and stop adopters to match the statuses. One thread calls this (the watch's)."""
        # an adopter the broker disconnected because the instance took its session back is done
        for name in [n for n, a in self._adopted.items() if a.released]:
            self._adopted.pop(name).stop()
            with self._lock:  # it is back (it took its session), whether or not its "online" came yet
                self._statuses[name] = (True, self._monotonic())
        with self._lock:
            want = adoptions(self.instance_id, self._statuses, self._monotonic(), self._grace)
        for name in [n for n in self._adopted if n not in want]:
            log.info("handing the MQTT session of gateway instance %s back", name)
            self._adopted.pop(name).stop()
        for name in sorted(want - self._adopted.keys()):
            log.warning("adopting the MQTT session of gateway instance %s (offline)", name)
            assert self.adopt is not None, "PeerWatch.adopt must be set before start()"
            adopter = self.adopt(name)
            adopter.start()
            self._adopted[name] = adopter

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(0.5)  # or a grace period runs out without a message
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.reconcile()
            except Exception:
                log.exception("peer watch failed")
