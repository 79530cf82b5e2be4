"""What the chaos bench sees of the gateway's work: order timeline rows, read from the database.

Every alarm the gateway applies adds one timeline row (``opened``, or ``repeat`` on the open
order) whose ``data`` carries the native event id, or for Zigbee2MQTT the reading with its
``last_seen``. A watcher polls for new rows and notes when each alarm's row first became
visible; the final scan reads them all to count the lost and the doubled. Pure functions at
the end turn those into figures.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from _chaos_traffic import Alarm, z2m_key
from sqlalchemy.engine import Engine

from gateway.storage.db import make_engine

FINAL = ("closed", "cancelled", "missed", "resolved", "confirmed")
LATE = 1.0  # issue 10: no fault may delay an alarm by more than a second
WINDOW = 4000  # timeline ids re-checked below the highest seen: concurrent transactions commit out of id order


def row_key(actor: str, data: Any) -> str | None:
    """The alarm a timeline row belongs to, or None (a person's action, not a device's event)."""
    if not actor.startswith("device:"):
        return None
    if isinstance(data, str):
        data = json.loads(data)
    if not isinstance(data, dict):
        return None
    reading = data.get("reading")
    if data.get("source") == "zigbee2mqtt" and isinstance(reading, dict) and "last_seen" in reading:
        # Zigbee2MQTT's own message has no id (the gateway's is a hash of these): device + last_seen
        return z2m_key(actor.removeprefix("device:"), reading["last_seen"])
    if data.get("event_id"):
        return str(data["event_id"])
    return None


class Watcher:
    """Polls ``order_timeline`` every ``interval`` seconds; ``first_seen[key]`` is the wall time
    the bench first saw an alarm's row, ``commits`` the times new alarm rows appeared."""

    def __init__(self, db_url: str, interval: float = 0.2) -> None:
        self.db_url = db_url
        self.interval = interval
        self.first_seen: dict[str, float] = {}
        self.commits: list[float] = []
        self.errors = 0
        self._seen_ids: set[int] = set()
        self._max_id = 0
        self._engine: Engine = make_engine(db_url)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-watcher", daemon=True)

    def _poll(self) -> None:
        low = max(0, self._max_id - WINDOW)
        with self._engine.connect() as conn:
            ids = [int(r[0]) for r in conn.execute(sa.text("SELECT id FROM order_timeline WHERE id > :low"),
                                                    {"low": low})]
            new = [i for i in ids if i not in self._seen_ids]
            rows: list[Any] = []
            for start in range(0, len(new), 500):
                chunk = new[start:start + 500]
                rows += conn.execute(sa.text("SELECT id, actor, data FROM order_timeline WHERE id IN :ids")
                                     .bindparams(sa.bindparam("ids", expanding=True)), {"ids": chunk}).all()
        now = time.time()
        fresh = 0
        for rid, actor, data in rows:
            self._seen_ids.add(int(rid))
            self._max_id = max(self._max_id, int(rid))
            key = row_key(actor, data)
            if key is not None and key not in self.first_seen:
                self.first_seen[key] = now
                fresh += 1
        if fresh:
            self.commits.append(now)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._poll()
            except Exception:  # the database is down or refusing: that is the point of the bench
                self.errors += 1
                with contextlib.suppress(Exception):
                    self._engine.dispose()
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._engine.dispose()


@dataclass
class FinalScan:
    rows_per_key: Counter[str] = field(default_factory=Counter)
    orders: int = 0
    open_duplicates: int = 0  # open orders beyond one per device and kind
    dead_letters: Counter[str] = field(default_factory=Counter)
    dead_keys: dict[str, str] = field(default_factory=dict)  # alarm key → dead-letter reason


def final_scan(db_url: str, devices: set[str]) -> FinalScan:
    """Everything the database holds about the bench's devices, after the run."""
    scan = FinalScan()
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            for actor, data in conn.execute(sa.text("SELECT actor, data FROM order_timeline")):
                key = row_key(actor, data)
                if key is not None:
                    scan.rows_per_key[key] += 1
            for device, _kind, n in conn.execute(sa.text(
                    "SELECT device_id, kind, COUNT(*) FROM orders WHERE status NOT IN :final "
                    "GROUP BY device_id, kind HAVING COUNT(*) > 1").bindparams(
                    sa.bindparam("final", expanding=True)), {"final": list(FINAL)}):
                if device in devices:
                    scan.open_duplicates += int(n) - 1
            scan.orders = sum(1 for (d,) in conn.execute(sa.text("SELECT device_id FROM orders")) if d in devices)
            for topic, reason, payload in conn.execute(sa.text("SELECT topic, reason, payload FROM dead_letters")):
                scan.dead_letters[str(reason)] += 1
                key = _payload_key(str(topic), bytes(payload))
                if key is not None:
                    scan.dead_keys[key] = str(reason)
    finally:
        engine.dispose()
    return scan


def _payload_key(topic: str, payload: bytes) -> str | None:
    try:
        obj = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    if obj.get("id"):
        return str(obj["id"])
    if topic.startswith("zigbee2mqtt/") and "last_seen" in obj:
        return z2m_key(topic.removeprefix("zigbee2mqtt/"), obj["last_seen"])
    return None


# --- figures (pure) ---------------------------------------------------------------------------


@dataclass
class FaultRecord:
    name: str
    injected: float  # time.time()
    healed: float | None = None  # the cause removed: broker back, gateway healthy, DB writable
    note: str = ""
    error: str = ""


@dataclass
class FaultFigures:
    record: FaultRecord
    held: float | None
    recovered: float | None  # injection → first commit of an alarm sent after the heal
    stall: float | None  # the longest gap between commits from injection to recovery
    lost: int = 0
    lost_sent: list[float] = field(default_factory=list)  # their send times, relative to the injection
    doubled: int = 0
    late: int = 0  # alarms whose order took more than LATE seconds
    worst_latency: float | None = None


def latencies(alarms: list[Alarm], first_seen: dict[str, float], final_fallback: float) -> dict[str, float]:
    """Alarm key → seconds from sending to its order being visible (the final scan's time for
    rows the watcher missed)."""
    return {a.key: max(0.0, first_seen.get(a.key, final_fallback) - a.sent) for a in alarms}


def charged_to(faults: list[FaultRecord], t: float, before: float = 2.0) -> int | None:
    """Index of the fault an alarm sent at ``t`` is charged to: the last one injected no later
    than ``before`` seconds after it was sent (a broker that loses its state loses what had just
    been sent, and what is sent while it comes back)."""
    found = None
    for i, f in enumerate(faults):
        if f.injected <= t + before:
            found = i
    return found


def fault_figures(faults: list[FaultRecord], alarms: list[Alarm], first_seen: dict[str, float],
                  commits: list[float], lost: set[str], doubled: Counter[str],
                  lat: dict[str, float]) -> list[FaultFigures]:
    out = [FaultFigures(f, (f.healed - f.injected) if f.healed else None, None, None) for f in faults]
    for fig in out:
        f = fig.record
        if f.healed is None:
            continue
        after = [first_seen[a.key] for a in alarms if a.sent >= f.healed and a.key in first_seen]
        if after:
            recovered_at = min(after)
            fig.recovered = recovered_at - f.injected
            points = [f.injected] + [c for c in commits if f.injected <= c <= recovered_at] + [recovered_at]
            fig.stall = max(b - a for a, b in itertools.pairwise(points)) if len(points) > 1 else 0.0
    for a in alarms:
        i = charged_to(faults, a.sent)
        if i is None:
            continue
        fig = out[i]
        if a.key in lost:
            fig.lost += 1
            fig.lost_sent.append(a.sent - fig.record.injected)
        fig.doubled += doubled.get(a.key, 0)
        if a.key in lat and a.key not in lost:
            fig.worst_latency = max(fig.worst_latency or 0.0, lat[a.key])
            fig.late += lat[a.key] > LATE
    return out
