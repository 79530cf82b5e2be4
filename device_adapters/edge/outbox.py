"""The edges' on-disk outbox and the publisher that drains it to MQTT.

- :class:`Outbox`: an SQLite file (WAL, ``synchronous=FULL``) holding native messages until the
  gateway confirms them, and the edge's ``rejected`` lines or frames (the latest
  :data:`REJECTED_KEEP`). One instance per thread.
- :class:`OutboxPublisher`: one thread that drains the outbox in id order over MQTT (paho-mqtt 2,
  QoS 1) on the edge's own topics (``shewu/v1/edge/<edge_id>/<device_id>/event``), with up to
  ``window`` messages in flight, and deletes a row only when the gateway confirms its event id on
  ``shewu/v1/edge/<edge_id>/confirm`` (its effect is committed). The broker's PUBACK is not
  enough: a broker killed between two saves of its state loses what it acknowledged. A row the
  broker took but the gateway did not confirm within ``confirm_timeout`` (doubling per send, at
  most 5 minutes) is sent again. When the broker goes away the publisher drops the connection and
  its in-flight bookkeeping, reconnects with a fresh clean session, and starts again from the
  oldest row not yet taken by the broker, so events read meanwhile go out later, in order.
  Delivery is at least once, and the native ``id`` lets the gateway drop the copy.

Whatever feeds an edge (the serial bridge's port, the DC-09 receiver's TCP server, a simulated home
unit's devices) appends to the outbox and calls :meth:`OutboxPublisher.notify`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from device_adapters.events import DecodeError
from device_adapters.mqtt_client import MqttUrl, disable_nagle, parse_mqtt_url
from device_adapters.native import confirm_topic, decode_confirm, device_id_from_topic, edge_topic
from device_adapters.serial_protocol import MAX_LINE

log = logging.getLogger("shewu.edge.outbox")

REJECTED_KEEP = 1000
EDGE_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at TEXT NOT NULL,
    event_id TEXT,
    broker_acked_at REAL,
    sends INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS rejected (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    line BLOB NOT NULL
);
"""


_ADDED_COLUMNS = (("event_id", "TEXT"), ("broker_acked_at", "REAL"), ("sends", "INTEGER NOT NULL DEFAULT 0"))
# The longest wait for a confirmation before a row is sent again (the wait doubles per send).
MAX_CONFIRM_WAIT = 300.0


def _event_id_of(payload: bytes) -> str | None:
    """The ``id`` of a native message this process built (None if it has none)."""
    try:
        obj = json.loads(payload)
    except ValueError:
        return None
    event_id = obj.get("id") if isinstance(obj, dict) else None
    return event_id if isinstance(event_id, str) else None


def publish_topic(edge_id: str, topic: str) -> str:
    """Where an edge publishes a native message: under its own prefix, so that the gateway can
    confirm it (and the broker's ACL can hold the edge to it)."""
    try:
        return edge_topic(edge_id, device_id_from_topic(topic))
    except (DecodeError, ValueError):
        return topic


class Outbox:
    """The on-disk queue. One instance per thread (SQLite connections are not shared).

    A row stays until the gateway confirms its event id (``confirmed``): a broker acknowledgement
    alone is not enough, since a broker that crashes loses what it acknowledged since its last
    save. Rows the broker took but the gateway did not confirm in time are sent again; the
    gateway drops the copies by event id."""

    def __init__(self, path: str | Path, *, any_thread: bool = False) -> None:
        """``any_thread``: the caller serialises use from several threads itself."""
        self.path = str(path)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=not any_thread)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(outbox)")}
        for name, decl in _ADDED_COLUMNS:  # an outbox file written by an older release
            if name not in columns:
                self._db.execute(f"ALTER TABLE outbox ADD COLUMN {name} {decl}")
        self._db.execute("CREATE INDEX IF NOT EXISTS outbox_event_id ON outbox (event_id)")

    def close(self) -> None:
        self._db.close()

    def append(self, topic: str, payload: bytes) -> int:
        """Store one native message; durable when this returns. Its event id (the native ``id``)
        is what the gateway's confirmation names."""
        cur = self._db.execute(
            "INSERT INTO outbox (topic, payload, created_at, event_id) VALUES (?, ?, ?, ?)",
            (topic, payload, datetime.now(UTC).isoformat(), _event_id_of(payload)),
        )
        return int(cur.lastrowid or 0)

    def broker_acked(self, ids: list[int], at: float) -> None:
        """The broker has these rows. Rows with an event id now wait for the gateway's
        confirmation; rows without one (written by an older release) are done."""
        if ids:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM outbox WHERE id = ? AND event_id IS NULL", [(i,) for i in ids])
            self._db.executemany("UPDATE outbox SET broker_acked_at = ?, sends = sends + 1 WHERE id = ?",
                                 [(at, i) for i in ids])
            self._db.execute("COMMIT")

    def confirmed(self, event_ids: list[str]) -> int:
        """The gateway has committed these events: forget them. Answers how many rows went."""
        if not event_ids:
            return 0
        cur = self._db.executemany("DELETE FROM outbox WHERE event_id = ?", [(i,) for i in event_ids])
        return max(cur.rowcount, 0)

    def unconfirmed(self, now: float, timeout: float, limit: int) -> list[tuple[int, str, bytes]]:
        """Rows the broker took but the gateway has not confirmed within ``timeout`` (doubling
        with each send, at most :data:`MAX_CONFIRM_WAIT`): to be sent again."""
        rows = self._db.execute(
            "SELECT id, topic, payload FROM outbox WHERE broker_acked_at IS NOT NULL "
            "AND broker_acked_at + min(? * (1 << min(sends - 1, 10)), ?) < ? ORDER BY id LIMIT ?",
            (timeout, MAX_CONFIRM_WAIT, now, limit),
        ).fetchall()
        if rows:
            self._db.executemany("UPDATE outbox SET broker_acked_at = NULL WHERE id = ?", [(r[0],) for r in rows])
        return [(int(r[0]), str(r[1]), bytes(r[2])) for r in rows]

    def peek(self, after_id: int, limit: int) -> list[tuple[int, str, bytes]]:
        rows = self._db.execute(
            "SELECT id, topic, payload FROM outbox WHERE id > ? AND broker_acked_at IS NULL ORDER BY id LIMIT ?",
            (after_id, limit),
        ).fetchall()
        return [(int(r[0]), str(r[1]), bytes(r[2])) for r in rows]

    def delete(self, ids: list[int]) -> None:
        if ids:
            self._db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])

    def pending(self) -> int:
        """Rows not yet confirmed by the gateway (whether or not the broker has them)."""
        return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def awaiting_confirmation(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM outbox WHERE broker_acked_at IS NOT NULL").fetchone()[0])

    def reject(self, reason: str, detail: str, line: bytes) -> None:
        self._db.execute("BEGIN")
        try:
            cur = self._db.execute(
                "INSERT INTO rejected (at, reason, detail, line) VALUES (?, ?, ?, ?)",
                (datetime.now(UTC).isoformat(), reason, detail, line[: 2 * MAX_LINE]),
            )
            self._db.execute("DELETE FROM rejected WHERE id <= ?", (int(cur.lastrowid or 0) - REJECTED_KEEP,))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def rejected(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest rejected lines, newest first."""
        rows = self._db.execute(
            "SELECT at, reason, detail, line FROM rejected ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [{"at": r[0], "reason": r[1], "detail": r[2], "line": bytes(r[3])} for r in rows]


@dataclass
class BridgeStats:
    lines: int = 0
    queued: int = 0
    published: int = 0  # acknowledged by the broker
    confirmed: int = 0  # confirmed by the gateway (committed), and so forgotten
    resent: int = 0  # sent again: the gateway did not confirm in time
    rejected: Counter[str] = field(default_factory=Counter)
    serial_connected: bool = False
    mqtt_connected: bool = False
    serial_opens: int = 0
    mqtt_connects: int = 0

    def copy(self) -> BridgeStats:
        return BridgeStats(
            self.lines,
            self.queued,
            self.published,
            self.confirmed,
            self.resent,
            Counter(self.rejected),
            self.serial_connected,
            self.mqtt_connected,
            self.serial_opens,
            self.mqtt_connects,
        )


@dataclass
class _Session:
    connected: bool = False
    refused: bool = False
    lost: bool = False
    acked: list[int] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)  # event ids the gateway has committed


class OutboxPublisher:
    """Outbox → MQTT. ``start()`` runs the publisher in a daemon thread; ``stop()`` ends it.

    The outbox keeps whatever is not yet confirmed across broker outages and restarts of the edge.
    Whatever appends to the outbox calls :meth:`notify`."""

    def __init__(
        self,
        outbox_path: str | Path,
        mqtt_url: str | MqttUrl,
        edge_id: str,
        *,
        window: int = 64,
        retry_delay: float = 0.2,
        max_retry_delay: float = 5.0,
        keepalive: int = 15,
        ack_timeout: float = 30.0,
        confirm_timeout: float = 10.0,
        client_id: str | None = None,
    ) -> None:
        if not 0 < len(edge_id) <= 32 or not EDGE_ID_CHARS.issuperset(edge_id):
            raise ValueError(f"receiver id {edge_id!r} must match [A-Za-z0-9_.-]{{1,32}}")
        if window < 1:
            raise ValueError("window must be at least 1")
        self.outbox_path = str(outbox_path)
        self.mqtt = mqtt_url if isinstance(mqtt_url, MqttUrl) else parse_mqtt_url(mqtt_url)
        self.edge_id = edge_id
        self.window = window
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.keepalive = keepalive
        self.ack_timeout = ack_timeout
        self.confirm_timeout = confirm_timeout  # the first wait for the gateway's confirmation
        self.client_id = client_id or f"shewu-edge-{edge_id}"
        self._stop = threading.Event()
        self._new_data = threading.Event()
        self._stats = BridgeStats()
        self._stats_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        Outbox(self.outbox_path).close()  # create the schema (and fail early on a bad path)

    # -- control -----------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("already started")
        self._stop.clear()
        self._new_data.set()
        self._thread = threading.Thread(target=self._run, name=f"outbox-publisher-{self.edge_id}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> OutboxPublisher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def notify(self) -> None:
        """New rows are in the outbox."""
        self._new_data.set()

    @property
    def stats(self) -> BridgeStats:
        """The MQTT side's counters (the feeding side's stay zero here)."""
        with self._stats_lock:
            return self._stats.copy()

    def pending(self) -> int:
        """Messages in the outbox not yet confirmed by the gateway."""
        box = Outbox(self.outbox_path)
        try:
            return box.pending()
        finally:
            box.close()

    def rejected(self, limit: int = 100) -> list[dict[str, Any]]:
        box = Outbox(self.outbox_path)
        try:
            return box.rejected(limit)
        finally:
            box.close()

    def _set(self, **changes: Any) -> None:
        with self._stats_lock:
            for k, v in changes.items():
                setattr(self._stats, k, v)

    def _add(self, name: str, n: int = 1) -> None:
        with self._stats_lock:
            setattr(self._stats, name, getattr(self._stats, name) + n)

    # -- MQTT side ---------------------------------------------------------------------------

    def _new_client(self, session: _Session) -> mqtt.Client:
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=True,
            reconnect_on_failure=False,
        )
        disable_nagle(client)
        if self.mqtt.username is not None:
            client.username_pw_set(self.mqtt.username, self.mqtt.password)
        if self.mqtt.tls:
            client.tls_set()
        client.max_inflight_messages_set(self.window)

        def on_connect(c: mqtt.Client, u: Any, flags: Any, rc: Any, props: Any) -> None:
            if rc.is_failure:
                log.error("MQTT broker %s refused the connection: %s", self.mqtt, rc)
                session.refused = True
            else:
                c.subscribe(confirm_topic(self.edge_id), qos=1)
                session.connected = True

        def on_message(c: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
            session.confirmed.extend(decode_confirm(msg.payload))

        def on_disconnect(c: mqtt.Client, u: Any, flags: Any, rc: Any, props: Any) -> None:
            session.lost = True

        def on_publish(c: mqtt.Client, u: Any, mid: int, rc: Any, props: Any) -> None:
            session.acked.append(mid)

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.on_publish = on_publish
        client.on_message = on_message
        return client

    def _run(self) -> None:
        box = Outbox(self.outbox_path)
        delay = self.retry_delay
        warned = False
        try:
            while not self._stop.is_set():
                session = _Session()
                client = self._new_client(session)
                try:
                    client.connect(self.mqtt.host, self.mqtt.port, keepalive=self.keepalive)
                except (OSError, ValueError) as exc:
                    (log.debug if warned else log.warning)("MQTT broker %s unreachable: %s", self.mqtt, exc)
                    warned = True
                    self._stop.wait(delay)
                    delay = min(delay * 2, self.max_retry_delay)
                    continue
                try:
                    self._session(client, session, box)
                except Exception:
                    log.exception("MQTT publisher failed; reconnecting")
                finally:
                    self._set(mqtt_connected=False)
                    try:
                        client.disconnect()
                        client.loop(0.01)
                    except Exception:  # the socket may already be gone
                        pass
                    sock = client.socket()
                    if sock is not None:
                        with contextlib.suppress(OSError):
                            sock.close()
                if session.connected:
                    warned = False
                    delay = self.retry_delay
                    if not self._stop.is_set():
                        log.warning("MQTT connection to %s lost; outbox holds %d", self.mqtt, box.pending())
                else:
                    delay = min(delay * 2, self.max_retry_delay)
                self._stop.wait(delay)
        finally:
            box.close()

    def _send(self, client: mqtt.Client, rows: list[tuple[int, str, bytes]],
              inflight: dict[int, tuple[int, float]]) -> bool:
        """Publish outbox rows on this edge's topics (QoS 1); False when the connection refuses."""
        now = time.monotonic()
        for row_id, topic, payload in rows:
            info = client.publish(publish_topic(self.edge_id, topic), payload, qos=1)
            if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return False
            inflight[info.mid] = (row_id, now)
        return True

    def _session(self, client: mqtt.Client, session: _Session, box: Outbox) -> None:
        connect_deadline = time.monotonic() + 10.0
        inflight: dict[int, tuple[int, float]] = {}
        last_id = 0
        more = True
        announced = False
        next_resend_check = 0.0
        while not self._stop.is_set():
            rc = client.loop(timeout=0.02)
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or session.lost or session.refused:
                return
            if not session.connected:
                if time.monotonic() > connect_deadline:
                    log.warning("MQTT broker %s did not answer CONNECT", self.mqtt)
                    return
                continue
            if not announced:
                announced = True
                log.info("MQTT connected to %s; outbox holds %d", self.mqtt, box.pending())
                self._set(mqtt_connected=True)
                self._add("mqtt_connects")
            if session.acked:
                done = [inflight.pop(mid)[0] for mid in session.acked if mid in inflight]
                session.acked.clear()
                box.broker_acked(done, time.time())
                self._add("published", len(done))
            if session.confirmed:
                self._add("confirmed", box.confirmed(session.confirmed))
                session.confirmed.clear()
            free = self.window - len(inflight)
            if free > 0 and time.monotonic() >= next_resend_check:
                next_resend_check = time.monotonic() + 1.0
                again = box.unconfirmed(time.time(), self.confirm_timeout, free)
                if again:
                    log.warning("%d event(s) not confirmed by the gateway in time; sending again", len(again))
                    self._add("resent", len(again))
                if not self._send(client, again, inflight):
                    return
                free = self.window - len(inflight)
            if free > 0 and (more or self._new_data.is_set()):
                self._new_data.clear()
                rows = box.peek(last_id, free)
                more = len(rows) == free
                if not self._send(client, rows, inflight):
                    return
                if rows:
                    last_id = rows[-1][0]
            if inflight:
                oldest = min(sent for _, sent in inflight.values())
                if time.monotonic() - oldest > self.ack_timeout:
                    log.warning("no PUBACK from %s for %.0f s; reconnecting", self.mqtt, self.ack_timeout)
                    return
