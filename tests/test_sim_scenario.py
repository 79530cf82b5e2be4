"""Scenario files and the runner, on an injected clock (no real sleeping)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from device_adapters.decoder import MessageDecoder
from device_adapters.events import EventKind
from firmware_sim.encoding import Message
from firmware_sim.models import Format, Role
from firmware_sim.scenario import (
    FiredStep,
    ScenarioError,
    ScenarioRunner,
    find_scenario,
    load_scenario,
    parse_scenario,
)
from firmware_sim.transport import Sender


class FakeClock:
    def __init__(self, start: float = 500.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def play(name: str, *, speed: float = 1.0) -> tuple[list[FiredStep], list[Message], FakeClock]:
    clock = FakeClock()
    published: list[Message] = []
    sender = Sender(publish=published.append, write=lambda _b: None)
    fired = ScenarioRunner(load_scenario(name), sender, speed=speed, clock=clock, sleep=clock.sleep).run()
    return fired, published, clock


def decoded_alarms(messages: list[Message]) -> list[tuple[str, EventKind]]:
    decoder = MessageDecoder()
    at = datetime.now(UTC)
    out = []
    for m in messages:
        for e in decoder.decode(m.topic, m.payload, at, retained=m.retain):
            if e.kind not in (EventKind.TELEMETRY, EventKind.HEARTBEAT, EventKind.AVAILABILITY, EventKind.ACTIVITY):
                out.append((e.device_id, e.kind))
    return out


def test_json_scenario_parses_with_defaults_and_roles() -> None:
    scenario = parse_scenario(
        """{"name": "x", "format": "native", "devices": {"dev-1": "leak_detector"},
            "steps": [{"at": 2, "device": "dev-1", "event": "leak"},
                      {"at": 1, "device": "dev-1", "event": "online", "format": "z2m"},
                      {"at": 2, "device": "dev-1", "event": "battery-low", "data": {"battery": 5}}]}"""
    )
    assert scenario.name == "x" and scenario.roles == {"dev-1": Role.LEAK_DETECTOR}
    assert [(s.at, s.event, s.format) for s in scenario.steps] == [
        (1.0, "online", Format.Z2M),
        (2.0, "leak", Format.NATIVE),  # same time: file order kept
        (2.0, "battery-low", Format.NATIVE),
    ]
    assert scenario.steps[2].data == {"battery": 5}
    assert scenario.duration == 2.0


def test_text_scenario_parses() -> None:
    scenario = parse_scenario(
        "# comment\n\n 0   a-sos sos\n1.5 b-leak leak native battery=40 note=wet # tail\n"
    )
    assert [(s.at, s.device, s.event, s.format, dict(s.data)) for s in scenario.steps] == [
        (0.0, "a-sos", "sos", Format.Z2M, {}),
        (1.5, "b-leak", "leak", Format.NATIVE, {"battery": 40, "note": "wet"}),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"steps": [{"at": 0, "event": "sos"}]}', "missing 'device'"),
        ('{"steps": [{"at": 0, "device": "a", "event": "boom"}]}', "unknown event"),
        ('{"steps": [{"at": -1, "device": "a", "event": "sos"}]}', "negative time"),
        ('{"steps": [{"at": 0, "device": "a", "event": "sos", "format": "smoke"}]}', "smoke"),
        ('{"steps": {"at": 0}}', "steps must be a list"),
        ("{not json", "invalid JSON"),
        ("0 a-sos", "line 1"),
    ],
)
def test_bad_scenarios_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(text)


def test_runner_waits_for_each_step_scaled_by_speed() -> None:
    fired, _, clock = play("leak_then_cleared", speed=4.0)
    assert [f.step.at for f in fired] == [0.0, 1.0, 3.0, 10.0, 20.0, 25.0]
    assert [f.fired_at - 500.0 for f in fired] == [0.0, 0.25, 0.75, 2.5, 5.0, 6.25]
    assert sum(clock.sleeps) == pytest.approx(25.0 / 4)


def test_runner_calls_on_step_and_can_force_a_format() -> None:
    clock = FakeClock()
    written: list[bytes] = []
    seen: list[str] = []
    runner = ScenarioRunner(
        load_scenario("flaky_sos"),
        Sender(write=written.append),
        clock=clock,
        sleep=clock.sleep,
        format_override=Format.SERIAL,
        on_step=lambda f: seen.append(f.step.event),
    )
    runner.run()
    assert seen == ["online", "sos", "offline", "online", "sos", "sos", "heartbeat"]
    assert len(written) == 7 and all(line.startswith(b"$SW1,") for line in written)


def test_shipped_scenarios_raise_what_they_promise() -> None:
    assert decoded_alarms(play("flaky_sos")[1]) == [("elder-201-sos", EventKind.SOS)] * 3
    assert decoded_alarms(play("leak_then_cleared")[1]) == [
        ("elder-302-leak", EventKind.LEAK_CLEARED),  # first sight of the dry sensor
        ("elder-302-leak", EventKind.LEAK),
        ("elder-302-leak", EventKind.LEAK_CLEARED),
    ]
    fired, messages, _ = play("fall_at_night")
    assert decoded_alarms(messages) == [("elder-101-radar", EventKind.FALL)]
    fall = next(f for f in fired if f.step.event == "fall")
    assert b'"illuminance_lux":0' in fall.messages[0].payload


def test_find_scenario_by_name_or_path(tmp_path: Path) -> None:
    assert find_scenario("flaky_sos").name == "flaky_sos.json"
    own = tmp_path / "mine.txt"
    own.write_text("0 a-sos sos\n")
    assert find_scenario(own) == own
    with pytest.raises(FileNotFoundError, match="shipped: fall_at_night"):
        find_scenario("nope")
