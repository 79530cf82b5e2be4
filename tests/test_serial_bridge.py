"""The serial bridge against a real Mosquitto, with a pty standing in for the receiver's port."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pty
import threading
import time
import tty
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from device_adapters.edge.serial_bridge import SerialBridge, configure_parser, run
from device_adapters.events import EventKind
from device_adapters.native import confirm_topic, decode_native, edge_of_topic, encode_confirm
from device_adapters.serial_protocol import encode_line
from tests.mqtt_broker import MosquittoBroker, free_port, mosquitto_path

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(mosquitto_path() is None, reason="mosquitto is not installed"),
]

RX = "rx-b3"
TS = 1795843800


def wait_for(
    cond: Callable[[], bool],
    timeout: float = 15.0,
    what: str = "condition",
    detail: Callable[[], str] | None = None,
) -> None:
    """Poll ``cond`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    extra = f" ({detail()})" if detail is not None else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{extra}")


class Pty:
    """A pseudo-terminal: the bridge opens ``path``; the test writes on the master side."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)  # no echo, no line editing before the bridge configures it
        self.path = os.ttyname(self.slave)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.master, view) :]

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


@dataclass
class Subscriber:
    """A paho client collecting native messages in arrival order. With ``confirm`` it stands in
    for the gateway's commit confirmation: each edge message's id is confirmed on receipt."""

    url_host: str
    url_port: int
    client_id: str = ""
    persistent: bool = False
    confirm: bool = True
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    subscribed: threading.Event = field(default_factory=threading.Event)
    client: mqtt.Client | None = None

    def start(self) -> Subscriber:
        c = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=not self.persistent,
        )
        c.reconnect_delay_set(1, 2)

        def on_connect(client: mqtt.Client, u: Any, flags: Any, rc: Any, props: Any) -> None:
            if not rc.is_failure:
                client.subscribe([("shewu/v1/+/event", 1), ("shewu/v1/edge/+/+/event", 1)])

        def on_subscribe(client: mqtt.Client, u: Any, mid: int, rcs: Any, props: Any) -> None:
            self.subscribed.set()

        def on_message(client: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
            with self.lock:
                self.messages.append((msg.topic, bytes(msg.payload)))
            edge = edge_of_topic(msg.topic)
            if self.confirm and edge is not None:
                client.publish(confirm_topic(edge), encode_confirm([json.loads(msg.payload)["id"]]), qos=1)

        c.on_connect = on_connect
        c.on_subscribe = on_subscribe
        c.on_message = on_message
        c.connect(self.url_host, self.url_port, keepalive=10)
        c.loop_start()
        self.client = c
        assert self.subscribed.wait(10), "no SUBACK"
        return self

    def stop(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()

    def docs(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(p) for _, p in self.messages]

    def ids(self) -> list[str]:
        return [d["id"] for d in self.docs()]

    def distinct_ids(self) -> list[str]:
        """Ids in order of first arrival (QoS 1 may deliver a message twice)."""
        seen: dict[str, None] = {}
        for i in self.ids():
            seen.setdefault(i)
        return list(seen)


def line(seq: int, device: str = "elder-101-sos", kind: str = "sos", **data: Any) -> bytes:
    return encode_line(seq, device, kind, TS + seq, data or {"battery": 87})


def expected_id(seq: int) -> str:
    return f"serial:{RX}:{seq}:{TS + seq}"


@pytest.fixture
def broker_factory() -> Iterator[Callable[..., MosquittoBroker]]:
    made: list[MosquittoBroker] = []

    def make(**kw: Any) -> MosquittoBroker:
        b = MosquittoBroker(**kw)
        made.append(b)
        return b.start()

    yield make
    for b in made:
        b.close()


@pytest.fixture
def port() -> Iterator[Pty]:
    p = Pty()
    yield p
    p.close()


@pytest.fixture
def bridges() -> Iterator[list[SerialBridge]]:
    made: list[SerialBridge] = []
    yield made
    for b in made:
        b.stop()


@pytest.fixture
def subscribers() -> Iterator[list[Subscriber]]:
    made: list[Subscriber] = []
    yield made
    for s in made:
        s.stop()


def make_bridge(made: list[SerialBridge], serial_path: str, outbox: Path, url: str, **kw: Any) -> SerialBridge:
    b = SerialBridge(serial_path, outbox, url, RX, retry_delay=0.05, max_retry_delay=0.5, **kw)
    made.append(b)
    b.start()
    return b


def test_lines_are_published_as_native_messages(
    broker_factory: Callable[..., MosquittoBroker],
    port: Pty,
    bridges: list[SerialBridge],
    subscribers: list[Subscriber],
    tmp_path: Path,
) -> None:
    broker = broker_factory()
    sub = Subscriber(broker.host, broker.port).start()
    subscribers.append(sub)
    bridge = make_bridge(bridges, port.path, tmp_path / "outbox.db", broker.url)
    wait_for(lambda: bridge.stats.serial_connected and bridge.stats.mqtt_connected, what="bridge connected")

    port.write(b"\x00\x00boot noise\r\n")  # a line of pure noise: rejected
    port.write(b"#~" + line(0))  # noise before '$' is skipped
    good = line(1, "elder-102-leak", "leak", zone="bath")
    port.write(good[:10])  # a line split across reads
    time.sleep(0.05)
    port.write(good[10:])
    port.write(line(2).replace(b"sos", b"sOs"))  # corrupted in transit: bad CRC
    port.write(line(3, "elder-103-radar", "fall"))
    port.write(b"$" + b"A" * 2000 + b"\r\n")  # far too long
    port.write(line(4, "elder-101-sos", "battery_low", battery=9))
    port.write(b"\r\n")  # blank lines are ignored

    wait_for(lambda: len(sub.distinct_ids()) >= 4, what="4 messages")
    assert sub.distinct_ids() == [expected_id(s) for s in (0, 1, 3, 4)]
    with sub.lock:
        topic, payload = sub.messages[1]
    ev = decode_native(topic, payload, datetime.now(UTC))
    assert (ev.device_id, ev.kind, ev.raw, ev.event_id) == (
        "elder-102-leak",
        EventKind.LEAK,
        {"zone": "bath"},
        expected_id(1),
    )
    assert ev.at.timestamp() == TS + 1
    low = sub.docs()[3]
    assert (low["kind"], low["value"], low["data"]) == ("battery_low", 9, {"battery": 9})

    wait_for(lambda: bridge.pending() == 0, what="outbox drained")
    stats = bridge.stats
    assert stats.queued == 4
    assert stats.published == 4
    assert stats.rejected == {"bad_frame": 1, "bad_crc": 1, "too_long": 1}
    rejected = bridge.rejected()
    assert [r["reason"] for r in rejected] == ["too_long", "bad_crc", "bad_frame"]
    assert rejected[1]["line"].startswith(b"$SW1,2,")


def test_broker_outage_events_wait_in_the_outbox_and_go_out_in_order(
    broker_factory: Callable[..., MosquittoBroker],
    port: Pty,
    bridges: list[SerialBridge],
    subscribers: list[Subscriber],
    tmp_path: Path,
) -> None:
    # persistence: the subscriber's session (and what is queued for it) survives the restart,
    # so the check does not depend on who reconnects first.
    broker = broker_factory(persistence=True)
    sub = Subscriber(broker.host, broker.port, client_id="outage-watcher", persistent=True).start()
    subscribers.append(sub)
    bridge = make_bridge(bridges, port.path, tmp_path / "outbox.db", broker.url)
    wait_for(lambda: bridge.stats.serial_connected and bridge.stats.mqtt_connected, what="bridge connected")

    for seq in range(5):
        port.write(line(seq))
    wait_for(lambda: len(sub.distinct_ids()) == 5, what="first 5")
    wait_for(lambda: bridge.pending() == 0, what="first 5 acknowledged")

    broker.stop()
    wait_for(lambda: not bridge.stats.mqtt_connected, what="bridge noticing the broker is gone")
    for seq in range(5, 105):
        port.write(line(seq, device=f"elder-{100 + seq % 7}-sos"))
    wait_for(lambda: bridge.stats.queued == 105, what="lines read while the broker is down")
    assert bridge.pending() == 100
    assert len(sub.distinct_ids()) == 5

    broker.start()  # same port
    wait_for(
        lambda: len(sub.distinct_ids()) == 105,
        timeout=30,
        what="all 105 after the restart",
        detail=lambda: f"got {len(sub.distinct_ids())}, outbox {bridge.pending()}, {bridge.stats}",
    )
    assert sub.distinct_ids() == [expected_id(s) for s in range(105)]
    wait_for(lambda: bridge.pending() == 0, what="outbox drained")
    assert bridge.stats.mqtt_connects >= 2


def test_outbox_survives_a_bridge_restart(
    broker_factory: Callable[..., MosquittoBroker],
    port: Pty,
    bridges: list[SerialBridge],
    subscribers: list[Subscriber],
    tmp_path: Path,
) -> None:
    mqtt_port = free_port()
    outbox = tmp_path / "outbox.db"
    first = make_bridge(bridges, port.path, outbox, f"mqtt://127.0.0.1:{mqtt_port}")  # no broker yet
    wait_for(lambda: first.stats.serial_connected, what="serial open")
    for seq in range(20):
        port.write(line(seq))
    port.write(b"$SW1,garbage*0000\r\n")
    wait_for(lambda: first.stats.queued == 20 and sum(first.stats.rejected.values()) == 1, what="queued")
    first.stop()
    assert first.pending() == 20

    broker = broker_factory(port=mqtt_port)
    sub = Subscriber(broker.host, broker.port).start()
    subscribers.append(sub)
    second = make_bridge(bridges, port.path, outbox, broker.url)
    wait_for(lambda: len(sub.distinct_ids()) == 20, what="20 from the old outbox")
    assert sub.distinct_ids() == [expected_id(s) for s in range(20)]
    wait_for(lambda: second.pending() == 0, what="drained")
    assert [r["reason"] for r in second.rejected()] == ["bad_crc"]


def test_serial_port_disappears_and_comes_back(
    broker_factory: Callable[..., MosquittoBroker],
    bridges: list[SerialBridge],
    subscribers: list[Subscriber],
    tmp_path: Path,
) -> None:
    broker = broker_factory()
    sub = Subscriber(broker.host, broker.port).start()
    subscribers.append(sub)
    link = tmp_path / "ttyRECEIVER"  # like a udev /dev/serial/by-id/... symlink
    first = Pty()
    link.symlink_to(first.path)
    bridge = make_bridge(bridges, str(link), tmp_path / "outbox.db", broker.url)
    try:
        wait_for(lambda: bridge.stats.serial_connected, what="serial open")
        port_writes = [line(s) for s in range(3)]
        for data in port_writes:
            first.write(data)
        wait_for(lambda: len(sub.distinct_ids()) == 3, what="3 before unplug")

        first.close()  # unplugged
        link.unlink()
        wait_for(lambda: not bridge.stats.serial_connected, what="bridge noticing the unplug")
        time.sleep(0.3)  # a few failed re-opens
        assert not bridge.stats.serial_connected

        second = Pty()  # plugged back in (a new tty behind the same name)
        link.symlink_to(second.path)
        wait_for(lambda: bridge.stats.serial_connected, what="serial re-open")
        for seq in range(3, 6):
            second.write(line(seq))
        wait_for(lambda: len(sub.distinct_ids()) == 6, what="3 after replug")
        assert sub.distinct_ids() == [expected_id(s) for s in range(6)]
        assert bridge.stats.serial_opens == 2
        second.close()
    finally:
        first.close()


def test_command_line_flags() -> None:
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    args = parser.parse_args(
        [
            "--port",
            "/dev/ttyUSB0",
            "--baud",
            "9600",
            "--mqtt",
            "mqtt://user:pw@10.0.0.2:1884",
            "--outbox",
            "/var/lib/shewu/outbox.db",
            "--receiver-id",
            "b3-lobby",
        ]
    )
    assert (args.port, args.baud, args.mqtt, args.outbox, args.receiver_id) == (
        "/dev/ttyUSB0",
        9600,
        "mqtt://user:pw@10.0.0.2:1884",
        "/var/lib/shewu/outbox.db",
        "b3-lobby",
    )
    assert args.func is run
    defaults = parser.parse_args(["--port", "loop://"])
    assert (defaults.baud, defaults.mqtt) == (115200, "mqtt://127.0.0.1:1883")


def test_run_refuses_a_bad_receiver_id(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    args = parser.parse_args(["--port", "loop://", "--outbox", str(tmp_path / "o.db"), "--receiver-id", "a b"])
    assert run(args) == 2


def test_an_event_the_broker_took_stays_until_the_gateway_confirms_it(
    broker_factory: Callable[..., MosquittoBroker],
    port: Pty,
    bridges: list[SerialBridge],
    subscribers: list[Subscriber],
    tmp_path: Path,
) -> None:
    """A broker's PUBACK is not enough (a broker killed between saves loses what it acknowledged):
    the row stays, is sent again while no confirmation comes, and goes once the gateway confirms."""
    broker = broker_factory()
    silent = Subscriber(broker.host, broker.port, confirm=False).start()  # a gateway that never confirms
    subscribers.append(silent)
    bridge = make_bridge(bridges, port.path, tmp_path / "outbox.db", broker.url, confirm_timeout=0.5)
    wait_for(lambda: bridge.stats.mqtt_connected, what="bridge connected")
    port.write(line(1, "elder-104-sos", "sos"))
    wait_for(lambda: bridge.stats.published >= 1, what="the broker took it")
    assert bridge.pending() == 1  # kept: only the broker has it
    with silent.lock:
        topic = silent.messages[0][0]
    assert topic == f"shewu/v1/edge/{RX}/elder-104-sos/event"
    wait_for(lambda: bridge.stats.resent >= 1 and len(silent.ids()) >= 2, what="sent again")
    assert set(silent.ids()) == {expected_id(1)} and bridge.pending() == 1
    confirmer = Subscriber(broker.host, broker.port).start()  # now the gateway confirms
    subscribers.append(confirmer)
    wait_for(lambda: bridge.pending() == 0, what="confirmed and forgotten", timeout=15)
    assert bridge.stats.confirmed == 1


def test_an_outbox_file_of_the_previous_release_is_upgraded(tmp_path: Path) -> None:
    import sqlite3

    from device_adapters.edge.outbox import Outbox

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, "
                     "payload BLOB NOT NULL, created_at TEXT NOT NULL);"
                     "INSERT INTO outbox (topic, payload, created_at) VALUES ('shewu/v1/d/event', X'7B7D', 'x');")
    db.commit()
    db.close()
    box = Outbox(path)
    try:
        assert box.peek(0, 10) == [(1, "shewu/v1/d/event", b"{}")]
        box.broker_acked([1], 0.0)  # no event id: the broker's PUBACK is all it can get
        assert box.pending() == 0
        box.append("shewu/v1/d/event", b'{"v":1,"id":"rx:2","kind":"sos"}')
        box.broker_acked([2], 0.0)
        assert box.pending() == 1 and box.confirmed(["rx:2"]) == 1 and box.pending() == 0
    finally:
        box.close()
