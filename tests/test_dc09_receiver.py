"""The DC-09 receiver over a real TCP socket, publishing to a real Mosquitto."""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from device_adapters.dc09 import Framing, build_ack, build_duh, build_message, build_nak, encode_frame, parse_frame
from device_adapters.edge.dc09_receiver import (
    Dc09Receiver,
    configure_parser,
    parse_listen,
    parse_time_window,
    run,
)
from device_adapters.events import EventKind
from device_adapters.native import confirm_topic, decode_native, edge_of_topic, encode_confirm
from gateway.broker import Mosquitto, free_port, mosquitto_path

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(mosquitto_path() is None, reason="mosquitto is not installed"),
]

T0 = datetime(2026, 11, 28, 4, 30, tzinfo=UTC)
NAK = build_nak(T0)


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Subscriber:
    host: str
    port: int
    client_id: str = ""
    persistent: bool = False
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
            if edge is not None:  # standing in for the gateway's commit confirmation
                client.publish(confirm_topic(edge), encode_confirm([json.loads(msg.payload)["id"]]), qos=1)

        c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
        c.connect(self.host, self.port, keepalive=10)
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

    def distinct(self) -> dict[str, dict[str, Any]]:
        """Messages by native id, first arrival first (QoS 1 may deliver one twice)."""
        out: dict[str, dict[str, Any]] = {}
        for d in self.docs():
            out.setdefault(d["id"], d)
        return out


async def wait_until(cond: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if cond():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Panel:
    """A panel's TCP connection: send bytes, read answers (each ends with CR)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int) -> Panel:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def answers(self, n: int) -> list[bytes]:
        return [await asyncio.wait_for(self.reader.readuntil(b"\r"), 10) for _ in range(n)]

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


def cid(seq: int, event: str, account: str = "1234", ts: datetime | None = T0) -> bytes:
    return build_message("ADM-CID", seq, account, f"#{account}|{event}", timestamp=ts)


@pytest.fixture
async def receiver(broker: Mosquitto, tmp_path: Path) -> AsyncIterator[Dc09Receiver]:
    rx = Dc09Receiver(
        "127.0.0.1", 0, tmp_path / "outbox.db", broker.url, "rx-test", clock=FixedClock(T0), retry_delay=0.05
    )
    await rx.start()
    yield rx
    await rx.stop()


@pytest.fixture
def subscriber(broker: Mosquitto) -> Any:
    sub = Subscriber(broker.host, broker.port).start()
    yield sub
    sub.stop()


async def test_ack_on_good_frames_and_the_events_arrive_on_mqtt(receiver: Dc09Receiver, subscriber: Subscriber) -> None:
    leak = cid(1, "1154 01 003", ts=T0 - timedelta(seconds=5))
    sos = cid(2, "1101 01 007", ts=None)
    null = build_message("NULL", 0, "1234", receiver="2", line="1")
    panel = await Panel.connect(receiver.port)
    await panel.send(leak + sos)  # two frames in one segment
    await panel.send(null[:7])  # one frame across segments
    await asyncio.sleep(0.05)
    await panel.send(null[7:])
    answers = await panel.answers(3)
    await panel.close()
    assert answers == [build_ack(parse_frame(leak)), build_ack(parse_frame(sos)), build_ack(parse_frame(null))]
    assert answers[2] == encode_frame('"ACK"0000R2L1#1234[]')

    await wait_until(lambda: len(subscriber.distinct()) == 3, what="3 native events")
    got = subscriber.distinct()
    rx_ms = int(T0.timestamp() * 1000)
    assert list(got) == [
        "dc09:1234:0001:20261128T042955",
        f"dc09:1234:0002:rx{rx_ms}",
        f"dc09:1234:0000:rx{rx_ms}",
    ]
    with subscriber.lock:
        topics = [t for t, _ in subscriber.messages]
    assert topics[0] == "shewu/v1/edge/rx-test/dc09-1234-003/event"  # under the edge's own prefix
    events = [decode_native(t, p, T0) for t, p in subscriber.messages[:1]]
    assert (events[0].kind, events[0].at, events[0].raw["code"]) == (
        EventKind.LEAK,
        T0 - timedelta(seconds=5),
        "154",
    )
    docs = list(got.values())
    assert (docs[1]["kind"], docs[1]["value"]) == ("sos", "personal_emergency")
    assert (docs[2]["kind"], docs[2]["data"]["receiver"]) == ("heartbeat", "2")
    await wait_until(lambda: receiver.pending() == 0, what="outbox drained")
    s = receiver.stats
    assert (s.frames, s.acked, s.naked, s.duh, s.queued) == (3, 3, 0, 0, 3)


async def test_nak_on_bad_frames(receiver: Dc09Receiver, subscriber: Subscriber) -> None:
    good = cid(5, "1384 01 002")
    bad_crc = good.replace(b"1384", b"1383")
    body = good[9:-1]
    wrong_length = b"\n" + good[1:5] + b"0%03X" % (len(body) - 1) + body + b"\r"
    stale = cid(6, "1384 01 002", ts=T0 - timedelta(seconds=41))
    ahead = cid(7, "1384 01 002", ts=T0 + timedelta(seconds=21))
    truncated = good[:20]  # no CR: the next LF starts a new frame
    panel = await Panel.connect(receiver.port)
    for frame in (bad_crc, wrong_length, stale, ahead, b"noise\r", truncated, good):
        await panel.send(frame)
    answers = await panel.answers(6)
    await panel.close()
    assert answers[:5] == [NAK] * 5
    assert answers[5] == build_ack(parse_frame(good))
    assert answers[0].endswith(b"_04:30:00,11-28-2026\r")  # the receiver's (injected) time

    await wait_until(lambda: len(subscriber.distinct()) == 1, what="the good frame")
    assert list(subscriber.distinct()) == ["dc09:1234:0005:20261128T043000"]
    reasons = [r["reason"] for r in receiver.rejected()]
    assert reasons == ["bad_frame", "timestamp_out_of_window", "timestamp_out_of_window", "bad_length", "bad_crc"]
    assert receiver.rejected()[-1]["line"] == bad_crc
    assert receiver.stats.naked == 5


async def test_what_cannot_be_classified_fails_open(receiver: Dc09Receiver, subscriber: Subscriber) -> None:
    """An unknown code (ACK), a payload that does not parse and an encrypted frame without a key
    (DUH): each becomes an unknown_alarm event for a person *and* a rejected row (the dead letter)."""
    encrypted = encode_frame('"*ADM-CID"0003L0#1234[' + "AB" * 32)
    sia = build_message("SIA-DCS", 4, "1234", "#1234|Nri1/WA000")
    garbled = build_message("ADM-CID", 8, "1234", "#1234|1154/01/003")
    unknown = cid(9, "1999 01 004")  # no such code
    panel = await Panel.connect(receiver.port)
    for frame in (encrypted, sia, garbled, unknown):
        await panel.send(frame)
    answers = await panel.answers(4)
    await panel.close()
    assert answers == [
        build_duh(parse_frame(encrypted)),
        build_ack(parse_frame(sia)),
        build_duh(parse_frame(garbled)),
        build_ack(parse_frame(unknown)),
    ]
    assert answers[0] == encode_frame('"DUH"0003L0#1234[]')
    reasons = [r["reason"] for r in receiver.rejected()]
    assert reasons == ["unknown_event_code", "bad_payload", "unknown_key"]
    s = receiver.stats
    assert (s.acked, s.duh, s.queued) == (2, 2, 4)
    await wait_until(lambda: len(subscriber.distinct()) == 4, what="4 events")
    docs = list(subscriber.distinct().values())
    kinds = [(d["kind"], d.get("value"), d["data"].get("reason")) for d in docs]
    assert kinds == [
        ("unknown_alarm", None, "unknown_key"),
        ("leak", None, None),
        ("unknown_alarm", None, "bad_payload"),
        ("unknown_alarm", "999", "unknown_event_code"),
    ]


async def test_a_repeated_frame_is_acknowledged_and_stored_once(receiver: Dc09Receiver, subscriber: Subscriber) -> None:
    frame = cid(11, "1100 01 001", ts=None)  # no timestamp: only the repeat guard keeps it single
    for _ in range(2):  # the panel missed our ACK, reconnects and sends it again
        panel = await Panel.connect(receiver.port)
        await panel.send(frame)
        assert await panel.answers(1) == [build_ack(parse_frame(frame))]
        await panel.close()
    await wait_until(lambda: len(subscriber.distinct()) == 1, what="one SOS")
    await asyncio.sleep(0.2)
    assert len(subscriber.distinct()) == 1
    assert (receiver.stats.queued, receiver.stats.repeats) == (1, 1)


async def test_nak_when_the_outbox_cannot_be_written(receiver: Dc09Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(messages: list[tuple[str, bytes]]) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(receiver, "_append_all", broken)
    panel = await Panel.connect(receiver.port)
    await panel.send(cid(12, "1154 01 003"))
    assert await panel.answers(1) == [NAK]
    await panel.close()


async def test_time_window_can_be_turned_off(broker: Mosquitto, tmp_path: Path) -> None:
    rx = Dc09Receiver("127.0.0.1", 0, tmp_path / "o.db", broker.url, "rx-tw", clock=FixedClock(T0), time_window=None)
    async with rx:
        old = cid(1, "1154 01 003", ts=T0 - timedelta(hours=3))
        panel = await Panel.connect(rx.port)
        await panel.send(old)
        assert await panel.answers(1) == [build_ack(parse_frame(old))]
        await panel.close()
    await rx.stop()  # stopping again is harmless


async def test_outbox_keeps_events_while_the_broker_is_down(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "broker", port=free_port(), persistence=True).start()
    sub = Subscriber(broker.host, broker.port, client_id="dc09-outage-watcher", persistent=True).start()
    rx = Dc09Receiver(
        "127.0.0.1",
        0,
        tmp_path / "outbox.db",
        broker.url,
        "rx-outage",
        clock=FixedClock(T0),
        retry_delay=0.05,
        max_retry_delay=0.5,
    )
    try:
        await rx.start()
        await wait_until(lambda: rx.publisher.stats.mqtt_connected, what="publisher connected")
        broker.stop()
        await wait_until(lambda: not rx.publisher.stats.mqtt_connected, what="publisher noticing the outage")
        frames = [cid(20 + i, f"1154 01 {i + 1:03d}") for i in range(5)]
        panel = await Panel.connect(rx.port)
        await panel.send(b"".join(frames))
        assert await panel.answers(5) == [build_ack(parse_frame(f)) for f in frames]
        await panel.close()
        assert rx.pending() == 5  # acknowledged to the panel, safe on disk
        broker.start()
        await wait_until(lambda: len(sub.distinct()) == 5, timeout=30, what="5 events after the outage")
        assert list(sub.distinct()) == [f"dc09:1234:{20 + i:04d}:20261128T043000" for i in range(5)]
        await wait_until(lambda: rx.pending() == 0, what="outbox drained")
    finally:
        await rx.stop()
        sub.stop()
        broker.stop()


# --- command line -----------------------------------------------------------------------------


def test_command_line_flags() -> None:
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    args = parser.parse_args(
        [
            "--listen",
            "127.0.0.1:9000",
            "--mqtt",
            "mqtt://u:p@10.0.0.2:1884",
            "--outbox",
            "/var/lib/o.db",
            "--receiver-id",
            "cms-1",
            "--time-window",
            "off",
        ]
    )
    assert (args.listen, args.mqtt, args.outbox, args.receiver_id, args.time_window) == (
        "127.0.0.1:9000",
        "mqtt://u:p@10.0.0.2:1884",
        "/var/lib/o.db",
        "cms-1",
        "off",
    )
    assert args.func is run
    defaults = parser.parse_args([])
    assert (defaults.listen, defaults.time_window) == ("0.0.0.0:12128", "40,20")


def test_shewu_bridge_dc09_is_wired() -> None:
    from gateway.cli import build_parser

    args = build_parser().parse_args(["bridge", "dc09", "--listen", ":12128"])
    assert args.func is run


def test_listen_and_time_window_parsing() -> None:
    assert parse_listen("0.0.0.0:12128") == ("0.0.0.0", 12128)
    assert parse_listen(":5000") == ("0.0.0.0", 5000)
    assert parse_listen("[::1]:5000") == ("::1", 5000)
    for bad in ("12128", "host:", "host:0", "host:70000"):
        with pytest.raises(ValueError):
            parse_listen(bad)
    assert parse_time_window("40,20") == (timedelta(seconds=40), timedelta(seconds=20))
    assert parse_time_window("OFF") is None
    for bad in ("40", "a,b", "-1,20"):
        with pytest.raises(ValueError):
            parse_time_window(bad)


def test_run_refuses_bad_arguments(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    assert run(parser.parse_args(["--outbox", str(tmp_path / "o.db"), "--receiver-id", "a b"])) == 2
    assert run(parser.parse_args(["--outbox", str(tmp_path / "o.db"), "--listen", "nowhere"])) == 2


# --- encryption and liberal framing over TCP ----------------------------------------------------

KEY = bytes.fromhex("00112233445566778899AABBCCDDEEFF")


async def test_encrypted_frames_are_decrypted_and_answered_encrypted(
    broker: Mosquitto, tmp_path: Path, subscriber: Subscriber
) -> None:
    spt_msg = pytest.importorskip("my_dc09_spt.msg.dc09_msg")
    dc05 = pytest.importorskip("my_dc09_spt.msg.dc05_msg").dc05_msg
    rx = Dc09Receiver("127.0.0.1", 0, tmp_path / "o.db", broker.url, "rx-aes", keys={"1234": KEY}, retry_delay=0.05)
    async with rx:
        good = spt_msg.dc09_msg("1234", KEY)
        wrong = spt_msg.dc09_msg("1234", bytes(16))
        fire = good.dc09block(1, "ADM-CID", dc05.dc05event("1234", {"code": "111", "zone": "2"})).encode()
        bad = wrong.dc09block(2, "ADM-CID", dc05.dc05event("1234", {"code": "111", "zone": "2"})).encode()
        poll = wrong.dc09poll().encode()
        panel = await Panel.connect(rx.port)
        for frame in (fire, bad, poll):
            await panel.send(frame)
        answers = await panel.answers(3)
        await panel.close()
        assert good.dc09answer(1, answers[0].decode())[0] == "ACK"  # encrypted, and the dialler accepts it
        assert b'"*ACK"0001#1234[' in answers[0]
        assert answers[1] == build_duh(parse_frame(bad)) and answers[2] == build_duh(parse_frame(poll))
        assert [r["reason"] for r in rx.rejected()] == ["wrong_key", "wrong_key"]
        await wait_until(lambda: len(subscriber.distinct()) == 2, what="the fire and the unknown alarm")
        docs = list(subscriber.distinct().values())
        assert [(d["kind"], d.get("value", None)) for d in docs] == [
            ("fire", "smoke"), ("unknown_alarm", None)
        ]
        assert docs[1]["data"]["reason"] == "wrong_key"


async def test_binary_crc_frames_split_anywhere(receiver: Dc09Receiver, subscriber: Subscriber) -> None:
    """Two-byte binary CRCs (Lupusec, OPAX) may contain CR or LF: framing follows the length field."""
    frames = []
    for seq in range(1, 2000):
        frame = build_message("ADM-CID", seq, "1234", "#1234|1154 01 003", framing=Framing(binary_crc=True))
        if b"\r" in frame[1:3] or b"\n" in frame[1:3]:
            frames.append(frame)
        if len(frames) == 2:
            break
    panel = await Panel.connect(receiver.port)
    for frame in frames:
        for i in range(0, len(frame), 2):  # in tiny segments
            await panel.send(frame[i : i + 2])
            await asyncio.sleep(0.005)
    answers = await panel.answers(2)
    await panel.close()
    assert answers == [build_ack(parse_frame(f)) for f in frames]
    assert all(parse_frame(a).framing == Framing(binary_crc=True) for a in answers)  # answered in kind
    await wait_until(lambda: len(subscriber.distinct()) == 2, what="2 leaks")
