"""The chaos bench's traffic: alarms and telemetry from devices, sent the way real edges send them.

- Serial receivers: ``shewu bridge serial`` processes, each reading a pty whose other end the
  bench writes ``$SW1`` lines into (as a building's receiver would), each line with a sequence
  number and the receiver's clock, so that its native event id is known beforehand.
- Home units: Shewu's simulated home unit (``firmware_sim.home_unit.HomeUnit``): each event kept in
  its on-disk outbox until the gateway confirms it, published on the unit's edge prefix, each
  with a unique ``id``.
- Zigbee2MQTT: state JSON published directly (alarms QoS 1, telemetry QoS 0, as Zigbee2MQTT's
  default is), with ``last_seen`` in epoch milliseconds (``advanced.last_seen: epoch``), which
  the gateway keeps in the timeline's reading: device + ``last_seen`` names one alarm.

A dispatcher signs in as a user and cancels open orders through the API as a false alarm, so
that later alarms from the same devices open new orders rather than only count on old ones.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import random
import sqlite3
import subprocess
import sys
import threading
import time
import tty
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt

from device_adapters.events import EventKind
from device_adapters.native import encode_native
from device_adapters.serial_protocol import decode_line, encode_line
from firmware_sim.encoding import Message
from firmware_sim.home_unit import HomeUnit
from gateway.broker import Mosquitto

SOURCES = ("serial", "native", "z2m")
ALARM_SHARE = {"serial": 0.6, "native": 0.3, "z2m": 0.1}  # of alarms, and of devices


@dataclass(slots=True)
class Alarm:
    """One alarm as sent. ``key`` is what the gateway's timeline will carry for it: the native
    event id, or ``z2m:<device>:<last_seen>``."""

    key: str
    source: str
    device: str
    sent: float  # time.time() just before it left the bench
    acked: float | None = None  # the edge's acknowledgement: written to the receiver, or PUBACK


def z2m_key(device: str, last_seen: Any) -> str:
    return f"z2m:{device}:{last_seen}"


class SerialEdge:
    """A pty and the ``shewu bridge serial`` process reading it, with its outbox file."""

    def __init__(self, index: int, broker: Mosquitto, work: Path, tag: str) -> None:
        self.receiver = f"chaos{tag}-rx{index}"
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.outbox = work / f"outbox-rx{index}.sqlite3"
        self.log = work / f"bridge-rx{index}.log"
        self.seq = 0
        self.lock = threading.Lock()
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", "bridge", "serial", "--port", self.path, "--mqtt", broker.url,
                 "--outbox", str(self.outbox), "--receiver-id", self.receiver, "--log-level", "INFO"],
                stdout=log, stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until the bridge has the port open and is connected to the broker: pyserial flushes
        the port's input when it opens it, so a line written before then is never read."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            if "serial port" in text and " open at " in text and "MQTT connected" in text:
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"serial bridge exited: {text[-2000:]}")
            time.sleep(0.1)
        raise TimeoutError(f"serial bridge {self.receiver} not ready: {self.log.read_text(errors='replace')[-2000:]}")

    def send(self, device: str, kind: EventKind, now: float, data: dict[str, Any]) -> str:
        """Write one line; answers its event id."""
        with self.lock:
            self.seq += 1
            line = encode_line(self.seq, device, kind, round(now, 3), data)
            event_id = decode_line(line, datetime.now(UTC)).event_id(self.receiver)
            view = memoryview(line)
            while view:
                view = view[os.write(self.master, view):]
        return event_id

    def _query(self, sql: str) -> list[tuple[Any, ...]]:
        if not self.outbox.exists():
            return []
        db = sqlite3.connect(f"file:{self.outbox}?mode=ro", uri=True, timeout=10)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    def pending_ids(self) -> list[str]:
        """Event ids still in the outbox: not yet confirmed by the gateway."""
        return [json.loads(p).get("id", "") for (p,) in self._query("SELECT payload FROM outbox")]

    def rejected(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM rejected")[0][0])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class MqttEdge:
    """A paho publisher (MQTT 3.1.1, QoS 1 resent after a reconnect) noting each PUBACK."""

    def __init__(self, broker: Mosquitto, client_id: str) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311,
                                  clean_session=True)
        self.client.max_inflight_messages_set(0)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(0.1, 1)
        self.lock = threading.Lock()
        self.waiting: dict[int, Alarm] = {}
        self.early: dict[int, float] = {}  # PUBACKs handled before publish() returned their mid
        self.client.on_publish = self._on_publish
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def _on_publish(self, _c: Any, _u: Any, mid: int, _rc: Any, _p: Any) -> None:
        now = time.time()
        with self.lock:
            alarm = self.waiting.pop(mid, None)
            if alarm is None:
                self.early[mid] = now
        if alarm is not None:
            alarm.acked = now

    def publish(self, topic: str, payload: bytes, qos: int, alarm: Alarm | None = None) -> None:
        # Not under self.lock: paho calls on_publish holding its own locks, which publish() takes too.
        info = self.client.publish(topic, payload, qos=qos)
        with self.lock:
            acked = self.early.pop(info.mid, None)
            if alarm is not None:
                if acked is None:
                    self.waiting[info.mid] = alarm
                else:
                    alarm.acked = acked

    def unacked(self) -> int:
        with self.lock:
            return len(self.waiting)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.client.disconnect()
        stopper = threading.Thread(target=self.client.loop_stop, daemon=True)
        stopper.start()
        stopper.join(5)  # never hang the bench's clean-up on a stuck network thread


class Traffic:
    """Sends ``alarms`` alarms at ``alarm_rate``/s and telemetry at ``telemetry_rate``/s from
    ``devices`` devices (seeded), through ``receivers`` serial bridges and two MQTT edges."""

    def __init__(self, broker: Mosquitto, work: Path, *, devices: int, alarms: int, alarm_rate: float,
                 telemetry_rate: float, receivers: int, seed: int) -> None:
        self.tag = uuid.uuid4().hex[:6]
        self.rng = random.Random(seed)
        self.total_alarms = alarms
        self.alarm_rate = alarm_rate
        self.telemetry_rate = telemetry_rate
        counts = {s: max(1, round(devices * ALARM_SHARE[s])) for s in SOURCES}
        self.devices = {
            "serial": [f"rx{i % receivers}-sos-{i:05d}" for i in range(counts["serial"])],
            "native": [f"nat-sos-{i:05d}" for i in range(counts["native"])],
            "z2m": [f"z2m-sos-{i:05d}" for i in range(counts["z2m"])],
        }
        self.serial = [SerialEdge(i, broker, work, self.tag) for i in range(receivers)]
        for edge in self.serial:
            edge.wait_ready()
        self.native = HomeUnit(f"unit-{self.tag}", work / f"unit-{self.tag}.db", broker.url).start()
        self._native_outbox = work / f"unit-{self.tag}.db"
        self.z2m = MqttEdge(broker, f"chaos-zigbee2mqtt-{self.tag}")
        self.sent: list[Alarm] = []
        self.telemetry_sent = 0
        self._z2m_last: dict[str, int] = {}
        self._native_n = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.started = 0.0
        self.finished = 0.0

    @property
    def device_count(self) -> int:
        return sum(len(d) for d in self.devices.values())

    @property
    def duration(self) -> float:
        return self.total_alarms / self.alarm_rate

    def _last_seen(self, device: str, now: float) -> int:
        ms = max(int(now * 1000), self._z2m_last.get(device, 0) + 1)  # unique per device
        self._z2m_last[device] = ms
        return ms

    def _send_alarm(self) -> None:
        source = self.rng.choices(SOURCES, weights=[ALARM_SHARE[s] for s in SOURCES])[0]
        device = self.rng.choice(self.devices[source])
        battery = self.rng.randint(40, 100)
        now = time.time()
        if source == "serial":
            edge = self.serial[int(device[2:device.index("-")])]
            alarm = Alarm("", source, device, now)
            alarm.key = edge.send(device, EventKind.SOS, now, {"battery": battery})
            alarm.acked = time.time()
        elif source == "native":
            self._native_n += 1
            alarm = Alarm(f"chaos-{self.tag}-{self._native_n}", source, device, now)
            topic, payload = encode_native(device, EventKind.SOS, at=round(now, 3), event_id=alarm.key,
                                           model="SW-SOS-1", data={"battery": battery})
            self.native.publish(Message(topic, payload))
            alarm.acked = time.time()  # on the unit's disk: the unit has it
        else:
            last_seen = self._last_seen(device, now)
            alarm = Alarm(z2m_key(device, last_seen), source, device, now)
            payload = json.dumps({"action": "emergency", "battery": battery, "linkquality": 120,
                                  "last_seen": last_seen}).encode()
            self.z2m.publish(f"zigbee2mqtt/{device}", payload, 1, alarm)
        self.sent.append(alarm)

    def _send_telemetry(self) -> None:
        source = self.rng.choices(SOURCES, weights=[ALARM_SHARE[s] for s in SOURCES])[0]
        device = self.rng.choice(self.devices[source])
        battery = self.rng.randint(40, 100)
        now = time.time()
        if source == "serial":
            edge = self.serial[int(device[2:device.index("-")])]
            edge.send(device, EventKind.HEARTBEAT, now, {"battery": battery})
        elif source == "native":
            self._native_n += 1
            topic, payload = encode_native(device, EventKind.HEARTBEAT, at=round(now, 3),
                                           event_id=f"chaos-{self.tag}-{self._native_n}", model="SW-SOS-1",
                                           data={"battery": battery, "rssi": -60})
            self.native.publish(Message(topic, payload))
        else:
            payload = json.dumps({"battery": battery, "linkquality": self.rng.randint(40, 200),
                                  "last_seen": self._last_seen(device, now)}).encode()
            self.z2m.publish(f"zigbee2mqtt/{device}", payload, 0)
        self.telemetry_sent += 1

    def _run(self) -> None:
        rate = self.alarm_rate + self.telemetry_rate
        p_alarm = self.alarm_rate / rate
        self.started = time.monotonic()
        n = 0
        while len(self.sent) < self.total_alarms and not self._stop.is_set():
            due = self.started + n / rate
            wait = due - time.monotonic()
            if wait > 0.005:
                self._stop.wait(wait)
            n += 1
            if self.rng.random() < p_alarm:
                self._send_alarm()
            else:
                self._send_telemetry()
        self.finished = time.monotonic()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="chaos-sender", daemon=True)
        self._thread.start()

    def done(self) -> bool:
        return self._thread is not None and not self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Until every alarm is sent; False if ``timeout`` passed first."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.done()

    def unconfirmed_at_edges(self) -> set[str]:
        """Keys of alarms an edge still holds or never had acknowledged."""
        keys: set[str] = set()
        for edge in self.serial:
            keys.update(edge.pending_ids())
        if self._native_outbox.exists():
            db = sqlite3.connect(f"file:{self._native_outbox}?mode=ro", uri=True, timeout=10)
            try:
                keys.update(str(i) for (i,) in db.execute("SELECT event_id FROM outbox") if i)
            finally:
                db.close()
        keys.update(a.key for a in self.sent if a.source == "z2m" and a.acked is None)
        return keys

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        for edge in self.serial:
            edge.stop()
        self.native.stop()
        self.z2m.stop()


class Dispatcher:
    """A dispatcher who signs in with a password through the API and cancels open orders as
    false alarms, at most ``per_second`` a second, tolerating a gateway that is down."""

    def __init__(self, base_urls: list[str], user: str, password: str, *, per_second: float) -> None:
        self.base_urls = base_urls
        self.user = user
        self.password = password
        self.per_second = per_second
        self.cancelled = 0
        self.errors = 0
        self._clients: dict[str, httpx.Client] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-dispatcher", daemon=True)

    def _client(self, base: str) -> httpx.Client:
        client = self._clients.get(base)
        if client is None:
            client = httpx.Client(base_url=base, timeout=5)
            r = client.post("/api/auth/login", json={"name": self.user, "password": self.password})
            r.raise_for_status()
            self._clients[base] = client
        return client

    def _tick(self) -> None:
        for base in self.base_urls:
            try:
                client = self._client(base)
                r = client.get("/api/orders", params={"active": "true", "limit": 200})
                if r.status_code == 401:
                    self._clients.pop(base, None)
                    continue
                r.raise_for_status()
                for order in r.json()[: max(1, int(self.per_second))]:
                    if self._stop.is_set():
                        return
                    c = client.post(f"/api/orders/{order['id']}/cancel", json={"reason": "chaos bench: false alarm"})
                    if c.status_code == 200:
                        self.cancelled += 1
                    elif c.status_code != 409:  # 409: someone (the other instance) got there first
                        self.errors += 1
                return
            except (httpx.HTTPError, ValueError):
                self.errors += 1
                self._clients.pop(base, None)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self._tick()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)
        for client in self._clients.values():
            client.close()
