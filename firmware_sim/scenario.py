"""Scenarios: timed steps of simulated devices, from a JSON or a plain-text file.

JSON::

    {"name": "a fall at night", "format": "z2m",
     "devices": {"elder-203-radar": "fall_radar"},
     "steps": [{"at": 0.0, "device": "elder-203-radar", "event": "online"},
               {"at": 5.0, "device": "elder-203-radar", "event": "fall", "data": {"illuminance_lux": 0}}]}

(a bare list of steps is fine too). Text, one step a line, ``#`` starts a comment::

    # at   device           event     [format]  [key=value ...]
    0.0    elder-101-sos    sos       z2m
    2.5    elder-101-sos    sos       native    battery=80

``at`` is seconds from the start; ``--speed 10`` plays it ten times faster. The clock and the
sleep are injected, so tests run a ten-minute scenario instantly.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firmware_sim.devices import SimDevice, make_device
from firmware_sim.encoding import Message
from firmware_sim.models import Format, Role, guess_role, parse_event_name
from firmware_sim.transport import Sender

SCENARIO_DIR = Path(__file__).parent / "scenarios"


class ScenarioError(ValueError):
    """A scenario file that cannot be understood; the message names the step."""


@dataclass(frozen=True, slots=True)
class Step:
    at: float
    device: str
    event: str
    format: Format
    data: Mapping[str, Any] = field(default_factory=dict)
    value: Any = None


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    steps: tuple[Step, ...]
    description: str = ""
    roles: Mapping[str, Role] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return max((step.at for step in self.steps), default=0.0)


@dataclass(frozen=True, slots=True)
class FiredStep:
    step: Step
    fired_at: float  # the runner's clock when the step was sent
    messages: tuple[Message, ...]


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _step_from_obj(obj: Any, index: int, default_format: Format) -> Step:
    if not isinstance(obj, Mapping):
        raise ScenarioError(f"step {index}: expected an object, got {type(obj).__name__}")
    try:
        at = float(obj.get("at", 0.0))
        device = str(obj["device"])
        event = str(obj["event"])
        parse_event_name(event)
        fmt = Format(obj.get("format", default_format))
    except KeyError as exc:
        raise ScenarioError(f"step {index}: missing {exc.args[0]!r}") from None
    except ValueError as exc:
        raise ScenarioError(f"step {index}: {exc}") from None
    data = obj.get("data") or {}
    if not isinstance(data, Mapping):
        raise ScenarioError(f"step {index}: data must be an object")
    if at < 0:
        raise ScenarioError(f"step {index}: negative time {at}")
    return Step(at, device, event, fmt, dict(data), obj.get("value"))


def _parse_text(text: str, default_format: Format) -> list[Step]:
    steps: list[Step] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if len(words) < 3:
            raise ScenarioError(f"line {lineno}: expected '<at> <device> <event> [format] [key=value ...]'")
        obj: dict[str, Any] = {"at": words[0], "device": words[1], "event": words[2], "data": {}}
        for word in words[3:]:
            if "=" in word:
                key, _, val = word.partition("=")
                obj["data"][key] = _parse_value(val)
            else:
                obj["format"] = word
        try:
            steps.append(_step_from_obj(obj, lineno, default_format))
        except ScenarioError as exc:
            raise ScenarioError(str(exc).replace("step", "line", 1)) from None
    return steps


def parse_scenario(text: str, *, name: str = "scenario", default_format: Format = Format.Z2M) -> Scenario:
    """A scenario from JSON (an object with ``steps`` or a bare list) or the plain-text form."""
    stripped = text.lstrip()
    roles: dict[str, Role] = {}
    description = ""
    if stripped.startswith(("{", "[")):
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise ScenarioError(f"invalid JSON: {exc}") from None
        if isinstance(doc, Mapping):
            name = str(doc.get("name", name))
            description = str(doc.get("description", ""))
            default_format = Format(doc.get("format", default_format))
            try:
                roles = {str(dev): Role(role) for dev, role in dict(doc.get("devices", {})).items()}
            except ValueError as exc:
                raise ScenarioError(f"devices: {exc}") from None
            raw_steps = doc.get("steps", [])
        else:
            raw_steps = doc
        if not isinstance(raw_steps, list):
            raise ScenarioError("steps must be a list")
        steps = [_step_from_obj(obj, i, default_format) for i, obj in enumerate(raw_steps)]
    else:
        steps = _parse_text(text, default_format)
    steps.sort(key=lambda step: step.at)  # stable: steps at the same time keep file order
    return Scenario(name=name, steps=tuple(steps), description=description, roles=roles)


def find_scenario(name_or_path: str | Path) -> Path:
    """A path as given, else a shipped scenario by name (``flaky_sos`` → scenarios/flaky_sos.json)."""
    path = Path(name_or_path)
    if path.exists():
        return path
    for candidate in (SCENARIO_DIR / f"{path.name}", SCENARIO_DIR / f"{path.name}.json"):
        if candidate.exists():
            return candidate
    shipped = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.json")))
    raise FileNotFoundError(f"no scenario {str(name_or_path)!r} (shipped: {shipped})")


def load_scenario(name_or_path: str | Path) -> Scenario:
    path = find_scenario(name_or_path)
    return parse_scenario(path.read_text(encoding="utf-8"), name=path.stem)


class ScenarioRunner:
    """Plays a scenario through a :class:`Sender`, step by step, in time.

    ``format_override`` sends every step in one format. ``on_step`` is called after each step.
    """

    def __init__(
        self,
        scenario: Scenario,
        sender: Sender,
        *,
        speed: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
        format_override: Format | None = None,
        on_step: Callable[[FiredStep], object] | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.scenario = scenario
        self.sender = sender
        self.speed = speed
        self.clock = clock
        self.sleep = sleep
        self.format_override = format_override
        self.on_step = on_step
        self.devices: dict[str, SimDevice] = {}

    def device(self, device_id: str, event: str) -> SimDevice:
        if device_id not in self.devices:
            role = self.scenario.roles.get(device_id) or guess_role(device_id, parse_event_name(event).kind)
            self.devices[device_id] = make_device(role, device_id)
        return self.devices[device_id]

    def run(self) -> list[FiredStep]:
        fired: list[FiredStep] = []
        start = self.clock()
        for step in self.scenario.steps:
            due = start + step.at / self.speed
            wait = due - self.clock()
            if wait > 0:
                self.sleep(wait)
            messages = self.sender.send(
                self.device(step.device, step.event),
                step.event,
                self.format_override or step.format,
                value=step.value,
                overrides=step.data,
            )
            done = FiredStep(step, self.clock(), tuple(messages))
            fired.append(done)
            if self.on_step is not None:
                self.on_step(done)
        return fired
