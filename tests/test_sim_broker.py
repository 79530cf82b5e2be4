"""Simulated devices, scenarios, the community and the load generator against a real Mosquitto."""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from firmware_sim.cli import configure_parser
from firmware_sim.community import Community
from firmware_sim.load import run_load
from firmware_sim.scenario import ScenarioRunner, load_scenario, parse_scenario
from firmware_sim.transport import MqttPublisher, Sender
from tests.mqtt_broker import MosquittoBroker, mosquitto_path

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(mosquitto_path() is None, reason="mosquitto is not installed"),
]


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    qos: int

    def json(self) -> Any:
        return json.loads(self.payload)


class Collector:
    """A paho subscriber that records what is published on ``topic`` from now on. Retained
    messages the broker replays on subscribe are left out unless ``keep_retained``."""

    def __init__(self, url: str, topic: str = "#", *, keep_retained: bool = False) -> None:
        host, port = url.removeprefix("mqtt://").split(":")
        self.keep_retained = keep_retained
        self.messages: list[Received] = []
        self._cond = threading.Condition()
        subscribed = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"collector-{time.monotonic_ns()}"
        )
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(host, int(port))
        self.client.loop_start()
        assert subscribed.wait(10), "no SUBACK"

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.retain and not self.keep_retained:
            return
        with self._cond:
            self.messages.append(Received(msg.topic, msg.payload, bool(msg.retain), msg.qos))
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0, settle: float = 0.3) -> list[Received]:
        """At least ``count`` messages, then ``settle`` seconds more to catch any extra ones."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < count and time.monotonic() < deadline:
                self._cond.wait(0.05)
        time.sleep(settle)
        with self._cond:
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture(scope="module")
def broker() -> Iterator[MosquittoBroker]:
    with MosquittoBroker() as b:
        yield b


@pytest.fixture
def collector(broker: MosquittoBroker) -> Iterator[Collector]:
    c = Collector(broker.url)
    yield c
    c.close()


def sim(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="shewu sim")
    configure_parser(parser)
    args = parser.parse_args(list(argv))
    return int(args.func(args))


def test_cli_sos_z2m_publishes_the_action_pair(broker: MosquittoBroker, collector: Collector) -> None:
    assert sim("sos", "--device", "elder-101-sos", "--mqtt", broker.url, "-q") == 0
    got = collector.wait_for(2)
    assert [m.topic for m in got] == ["zigbee2mqtt/elder-101-sos"] * 2
    assert [m.json()["action"] for m in got] == ["emergency", ""]
    assert {k: v for k, v in got[0].json().items() if k != "action"} == {
        "battery": 100,
        "battery_low": False,
        "linkquality": 120,
        "voltage": 3000,
    }
    assert all(m.qos == 1 for m in got)


def test_cli_availability_and_base_topic(broker: MosquittoBroker, collector: Collector) -> None:
    assert (
        sim("offline", "--device", "gate/elder-7-sos", "--z2m-base", "z2m", "--mqtt", broker.url, "-q") == 0
    )
    assert sim("online", "--device", "gate/elder-7-sos", "--z2m-base", "z2m", "--mqtt", broker.url, "-q") == 0
    got = collector.wait_for(2)
    assert [(m.topic, m.payload) for m in got] == [
        ("z2m/gate/elder-7-sos/availability", b'{"state":"offline"}'),
        ("z2m/gate/elder-7-sos/availability", b'{"state":"online"}'),
    ]
    late = Collector(broker.url, "z2m/#", keep_retained=True)  # availability is retained, like Zigbee2MQTT's
    try:
        (retained,) = late.wait_for(1)
        assert retained.retain and retained.payload == b'{"state":"online"}'
    finally:
        late.close()


@pytest.mark.parametrize(
    ("command", "device", "topic", "expect"),
    [
        (
            "fall",
            "elder-101-radar",
            "zigbee2mqtt/elder-101-radar",
            {"fall_down_status": "fall", "presence": True},
        ),
        ("leak", "elder-302-leak", "zigbee2mqtt/elder-302-leak", {"water_leak": True, "tamper": False}),
        ("tamper", "elder-302-leak", "zigbee2mqtt/elder-302-leak", {"tamper": True}),
        ("battery-low", "elder-9-sos", "zigbee2mqtt/elder-9-sos", {"battery_low": True, "battery": 8}),
        ("heartbeat", "elder-9-sos", "zigbee2mqtt/elder-9-sos", {"battery_low": False}),
    ],
)
def test_cli_z2m_state_events(
    broker: MosquittoBroker,
    collector: Collector,
    command: str,
    device: str,
    topic: str,
    expect: dict[str, Any],
) -> None:
    assert sim(command, "--device", device, "--mqtt", broker.url, "-q") == 0
    (got,) = collector.wait_for(1)
    assert got.topic == topic
    state = got.json()
    assert {k: state[k] for k in expect} == expect
    assert "action" not in state


def test_cli_leak_cleared_native(broker: MosquittoBroker, collector: Collector) -> None:
    rc = sim(
        "leak", "--cleared", "--device", "elder-302-leak", "--format", "native", "--mqtt", broker.url, "-q"
    )
    assert rc == 0
    (got,) = collector.wait_for(1)
    doc = got.json()
    assert got.topic == "shewu/v1/elder-302-leak/event"
    assert (doc["v"], doc["kind"], doc["model"]) == (1, "leak_cleared", "SW-LEAK-1")
    assert doc["data"]["water_leak"] is False and doc["id"].startswith("elder-302-leak:")


def test_cli_refuses_an_event_the_device_cannot_raise(broker: MosquittoBroker, collector: Collector) -> None:
    assert sim("fall", "--device", "elder-101-sos", "--mqtt", broker.url, "-q") == 2
    assert collector.wait_for(0, settle=0.2) == []


def test_cli_reports_an_unreachable_broker(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.mqtt_broker import free_port

    assert sim("sos", "--mqtt", f"mqtt://127.0.0.1:{free_port()}", "-q") == 2
    assert "shewu sim:" in capsys.readouterr().err


def test_scenario_runner_fires_steps_in_order_through_the_broker(
    broker: MosquittoBroker, collector: Collector
) -> None:
    now = [1000.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    scenario = load_scenario("flaky_sos")
    with MqttPublisher(broker.url) as pub:
        runner = ScenarioRunner(
            scenario, Sender(publish=pub.publish), speed=2.0, clock=lambda: now[0], sleep=sleep
        )
        fired = runner.run()
    assert [f.step.at for f in fired] == [0.0, 1.0, 2.5, 3.0, 3.5, 6.0, 10.0]
    assert [f.fired_at - 1000.0 for f in fired] == [0.0, 0.5, 1.25, 1.5, 1.75, 3.0, 5.0]  # speed 2
    assert sum(sleeps) == pytest.approx(5.0)
    expected = [m for f in fired for m in f.messages]
    got = collector.wait_for(len(expected))
    assert [(m.topic, m.payload) for m in got] == [(m.topic, m.payload) for m in expected]
    kinds = [
        (m.topic.rsplit("/", 1)[-1], m.json().get("action", m.json().get("kind", m.json().get("state"))))
        for m in got
    ]
    assert kinds == [
        ("availability", "online"),
        ("elder-201-sos", "emergency"),
        ("elder-201-sos", ""),
        ("availability", "offline"),
        ("availability", "online"),
        ("elder-201-sos", "emergency"),
        ("elder-201-sos", ""),
        ("event", "sos"),
        ("elder-201-sos", None),
    ]


def test_cli_scenario_text_file(broker: MosquittoBroker, collector: Collector, tmp_path: Any) -> None:
    path = tmp_path / "two.txt"
    path.write_text("# two steps\n0.0 elder-5-leak leak native\n0.05 elder-5-leak cleared z2m battery=50\n")
    assert sim("scenario", str(path), "--speed", "100", "--mqtt", broker.url, "-q") == 0
    got = collector.wait_for(2)
    assert [m.topic for m in got] == ["shewu/v1/elder-5-leak/event", "zigbee2mqtt/elder-5-leak"]
    assert got[0].json()["kind"] == "leak"
    assert got[1].json()["water_leak"] is False and got[1].json()["battery"] == 50


def test_community_heartbeats_and_alarms(broker: MosquittoBroker, collector: Collector) -> None:
    community = Community(3, seed=1, alarm_rate=600.0, heartbeat_s=0.2)  # an alarm every ~0.1 s per home
    with MqttPublisher(broker.url) as pub:
        community.run(Sender(publish=pub.publish), duration=1.0, tick=0.05)
    sent = sum(len(e.messages) for e in community.events)
    got = collector.wait_for(sent)
    assert len(got) == sent
    ids = {row.device_id for row in community.registry_rows()}
    availability = {m.topic.split("/")[1] for m in got if m.topic.endswith("/availability")}
    radars = {m.topic.split("/")[2] for m in got if m.topic.startswith("shewu/v1/")}
    assert availability | radars == ids  # every device came online (z2m) or reported (native radar)
    assert community.counts["heartbeat"] >= 9 * 3
    assert sum(community.counts.get(k, 0) for k in ("sos", "fall", "leak", "battery_low", "tamper")) > 0


def test_load_generator_publishes_the_requested_count(broker: MosquittoBroker, collector: Collector) -> None:
    seen: list[tuple[str, int]] = []
    result = run_load(
        broker.url,
        rate=2000,
        duration=1.0,
        alarm_rate=20,
        devices=50,
        on_alarm_published=lambda device_id, ns: seen.append((device_id, ns)),
        alarm_prefix="t-sos-",
    )
    assert (result.heartbeats, result.alarms, result.sent) == (2000, 20, 2020)
    assert result.all_acked and result.acked == 2020
    assert 0.95 <= result.duration_s < 5.0  # paced over the second, not one burst
    assert [d for d, _ in seen] == [f"t-sos-{n}" for n in range(20)]
    assert result.alarm_publish_ns == dict(seen)
    for device_id, wall in result.alarm_publish_ns.items():
        perf = result.alarm_publish_perf_ns[device_id]
        assert abs(perf + result.perf_to_wall_ns - wall) < 50_000_000
    got = collector.wait_for(2020, timeout=20)
    assert len(got) == 2020
    alarms = [m for m in got if m.topic.startswith("shewu/v1/t-sos-")]
    assert len(alarms) == 20 and all(m.json()["kind"] == "sos" for m in alarms)
    heartbeats = [m for m in got if not m.topic.startswith("shewu/v1/t-sos-")]
    assert {m.topic.split("/")[0] for m in heartbeats} == {"zigbee2mqtt", "shewu"}
    native_ids = [m.json()["id"] for m in heartbeats if m.topic.startswith("shewu/")]
    assert len(native_ids) == len(set(native_ids)) == 1000
    assert all(m.qos == 1 for m in got)


def test_parse_scenario_is_used_by_the_runner_without_a_broker() -> None:
    """A tiny smoke check that a bare-list JSON scenario parses and plays (no sleeping)."""
    scenario = parse_scenario('[{"at": 1, "device": "a-sos", "event": "sos", "format": "native"}]')
    published: list[Any] = []
    fired = ScenarioRunner(
        scenario, Sender(publish=published.append), clock=lambda: 0.0, sleep=lambda _s: None
    ).run()
    assert len(fired) == 1 and [m.topic for m in published] == ["shewu/v1/a-sos/event"]
