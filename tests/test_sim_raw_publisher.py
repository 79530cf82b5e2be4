"""The load generator's lean publisher against a real broker: every message arrives, QoS 1
ones are acknowledged, and the counts add up."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest

from firmware_sim.encoding import Message
from firmware_sim.load import run_load
from firmware_sim.raw_publisher import RawPublisher, publish_packet
from tests.mqtt_broker import MosquittoBroker, mosquitto_path

pytestmark = pytest.mark.skipif(mosquitto_path() is None, reason="mosquitto is not installed")


@pytest.fixture
def broker() -> Iterator[MosquittoBroker]:
    with MosquittoBroker() as b:
        yield b


def subscribe(broker: MosquittoBroker, topic: str) -> tuple[mqtt.Client, list[mqtt.MQTTMessage], threading.Event]:
    got: list[mqtt.MQTTMessage] = []
    ready = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = lambda _c, _u, m: got.append(m)
    client.on_subscribe = lambda *_a: ready.set()
    client.connect(broker.host, broker.port)
    client.subscribe(topic, qos=1)
    client.loop_start()
    assert ready.wait(5)
    return client, got, ready


def test_packets_are_encoded_as_mqtt_says() -> None:
    assert publish_packet("a/b", b"hi", 0) == b"\x30\x07\x00\x03a/bhi"
    assert publish_packet("a/b", b"hi", 1, packet_id=258) == b"\x32\x09\x00\x03a/b\x01\x02hi"
    long = publish_packet("t", b"x" * 200, 0)
    assert long[1:3] == bytes([(3 + 200) % 128 | 0x80, (3 + 200) // 128])  # variable-length remaining length


def test_raw_publisher_delivers_and_counts_acks(broker: MosquittoBroker) -> None:
    client, got, _ = subscribe(broker, "raw/#")
    try:
        pub = RawPublisher(broker.url)
        for i in range(500):
            pub.publish(Message(f"raw/{i}", f'{{"n":{i}}}'.encode(), qos=i % 2))
        assert pub.flush(10)
        assert (pub.published, pub.acked) == (500, 500)
        pub.close()
        deadline = time.monotonic() + 10
        while len(got) < 500 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sorted(int(m.topic.split("/")[1]) for m in got) == list(range(500))
        assert got[0].payload == b'{"n":0}'
    finally:
        client.loop_stop()
        client.disconnect()


def test_run_load_over_the_raw_transport(broker: MosquittoBroker) -> None:
    client, got, _ = subscribe(broker, "shewu/v1/+/event")
    try:
        result = run_load(broker.url, rate=400, duration=0.5, alarm_rate=20, devices=10, transport="raw",
                          telemetry_qos=0)
        assert result.all_acked and (result.heartbeats, result.alarms) == (200, 10)
        deadline = time.monotonic() + 10
        alarms = lambda: [m for m in got if m.topic.startswith("shewu/v1/bench-sos-")]  # noqa: E731
        while len(alarms()) < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(alarms()) == 10 and all(m.qos == 1 for m in alarms())
    finally:
        client.loop_stop()
        client.disconnect()
