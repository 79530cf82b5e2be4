"""A simulated community: N homes of elderly residents, each with an SOS button, a fall radar and
a leak detector, heartbeating and now and then raising an alarm. ``shewu demo`` runs one.

Everything is drawn from a seeded ``random.Random``, so the same seed gives the same residents,
addresses and devices (the demo registers them with the gateway from :meth:`registry_rows`).
"""

from __future__ import annotations

import csv
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from firmware_sim.devices import SimDevice, make_device
from firmware_sim.encoding import Message
from firmware_sim.models import REGISTRY_KIND, Format, Role
from firmware_sim.transport import Sender

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡"
GIVEN_NAMES = [
    "秀英",
    "桂英",
    "秀兰",
    "玉兰",
    "桂兰",
    "淑珍",
    "凤英",
    "玉珍",
    "秀珍",
    "淑兰",
    "桂芳",
    "玉梅",
    "建国",
    "建华",
    "国强",
    "志强",
    "德明",
    "福生",
    "长庚",
    "永年",
    "振华",
    "文华",
    "宝山",
    "金生",
]

# Which wire format each role speaks in the demo community: Zigbee buttons and leak detectors
# behind Zigbee2MQTT, the radar on our own firmware.
DEFAULT_FORMATS: dict[Role, Format] = {
    Role.SOS_BUTTON: Format.Z2M,
    Role.FALL_RADAR: Format.NATIVE,
    Role.LEAK_DETECTOR: Format.Z2M,
}

# When a home raises an alarm, what it is (relative weights) and which device does it.
ALARM_WEIGHTS: dict[str, float] = {"sos": 0.4, "fall": 0.2, "leak": 0.25, "battery_low": 0.1, "tamper": 0.05}
ALARM_ROLE: dict[str, Role] = {
    "sos": Role.SOS_BUTTON,
    "fall": Role.FALL_RADAR,
    "leak": Role.LEAK_DETECTOR,
    "battery_low": Role.SOS_BUTTON,
    "tamper": Role.LEAK_DETECTOR,
}
DEVICE_SUFFIX: dict[Role, str] = {
    Role.SOS_BUTTON: "sos",
    Role.FALL_RADAR: "radar",
    Role.LEAK_DETECTOR: "leak",
}
LEAK_CLEARS_AFTER_S = (60.0, 180.0)  # a leak is dried up this long after it started

CSV_HEADER = ("device_id", "model", "kind", "resident", "address", "grid")


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """One row of the device registry (``POST /api/devices``, ``/api/devices/import`` CSV)."""

    device_id: str
    model: str
    kind: str
    resident: str
    address: str
    grid: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(slots=True)
class Home:
    number: int
    resident: str
    address: str  # 3栋2单元101
    grid: str
    devices: dict[Role, SimDevice] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CommunityEvent:
    at: float  # the community's clock
    device_id: str
    event: str
    format: Format
    messages: tuple[Message, ...]


class Community:
    """``homes`` homes; ``alarm_rate`` alarms per home per minute; a heartbeat per device every
    ``heartbeat_s`` seconds (spread out, not all at once)."""

    def __init__(
        self,
        homes: int = 30,
        *,
        seed: int = 2026,
        alarm_rate: float = 0.02,
        heartbeat_s: float = 60.0,
        formats: Mapping[Role, Format] | None = None,
        buildings: int | None = None,
    ) -> None:
        if homes < 1:
            raise ValueError("a community needs at least one home")
        self.rng = random.Random(seed)
        self.alarm_rate = alarm_rate
        self.heartbeat_s = heartbeat_s
        self.formats: dict[Role, Format] = {**DEFAULT_FORMATS, **(formats or {})}
        self.homes: list[Home] = self._build(homes, buildings or max(1, math.ceil(homes / 12)))
        self._next_heartbeat: dict[str, float] = {}
        self._followups: list[tuple[float, SimDevice, str]] = []
        self.events: list[CommunityEvent] = []  # the most recent ones
        self.counts: dict[str, int] = {}
        self.on_event: Callable[[CommunityEvent], object] | None = None

    def _build(self, count: int, buildings: int) -> list[Home]:
        homes: list[Home] = []
        used_names: set[str] = set()
        per_building = math.ceil(count / buildings)
        for n in range(count):
            building = n // per_building + 1
            k = n % per_building
            unit = k % 2 + 1
            floor = k // 2 % 6 + 1
            room = f"{floor}{k // 12 + 1:02d}"
            name = self._name(used_names)
            home = Home(
                number=n + 1,
                resident=name,
                address=f"{building}栋{unit}单元{room}",
                grid=f"G{(building - 1) // 2 + 1}",
            )
            for role, suffix in DEVICE_SUFFIX.items():
                device_id = f"b{building}-u{unit}-{room}-{suffix}"
                home.devices[role] = make_device(role, device_id, rng=random.Random(self.rng.random()))
            homes.append(home)
        return homes

    def _name(self, used: set[str]) -> str:
        for _ in range(100):
            name = self.rng.choice(SURNAMES) + self.rng.choice(GIVEN_NAMES)
            if name not in used:
                used.add(name)
                return name
        return self.rng.choice(SURNAMES) + self.rng.choice(GIVEN_NAMES)

    # --- the registry -----------------------------------------------------------------------

    def devices(self) -> list[tuple[SimDevice, Format]]:
        return [(device, self.formats[role]) for home in self.homes for role, device in home.devices.items()]

    def registry_rows(self) -> list[DeviceRow]:
        """One row per device: ``device_id, model, kind, resident, address, grid``."""
        return [
            DeviceRow(
                device_id=device.device_id,
                model=device.model(self.formats[role]),
                kind=REGISTRY_KIND[role],
                resident=home.resident,
                address=home.address,
                grid=home.grid,
            )
            for home in self.homes
            for role, device in home.devices.items()
        ]

    def write_csv(self, path: str | Path) -> None:
        """The registry as CSV (UTF-8, header ``device_id,model,kind,resident,address,grid``)."""
        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(CSV_HEADER)
            for row in self.registry_rows():
                writer.writerow([getattr(row, column) for column in CSV_HEADER])

    # --- running ----------------------------------------------------------------------------

    def _send(self, sender: Sender, device: SimDevice, event: str, now: float) -> None:
        fmt = self.formats[device.role]
        messages = sender.send(device, event, fmt)
        record = CommunityEvent(now, device.device_id, event, fmt, tuple(messages))
        self.events.append(record)
        del self.events[:-1000]
        self.counts[event] = self.counts.get(event, 0) + 1
        if self.on_event is not None:
            self.on_event(record)

    def start(self, sender: Sender, now: float) -> None:
        """Every device comes online and reports once; heartbeats are then spread over a period."""
        for device, _fmt in self.devices():
            self._send(sender, device, "online", now)
            self._send(sender, device, "heartbeat", now)
            self._next_heartbeat[device.device_id] = now + self.rng.uniform(0, self.heartbeat_s)

    def step(self, sender: Sender, now: float, dt: float) -> None:
        """Advance by ``dt`` seconds to ``now``: due heartbeats, follow-ups, random alarms."""
        for device, _fmt in self.devices():
            due = self._next_heartbeat.setdefault(device.device_id, now + self.heartbeat_s)
            if due <= now:
                self._send(sender, device, "heartbeat", now)
                self._next_heartbeat[device.device_id] = max(due + self.heartbeat_s, now)
        still_pending = []
        for due, device, event in self._followups:
            if due <= now:
                self._send(sender, device, event, now)
            else:
                still_pending.append((due, device, event))
        self._followups = still_pending
        if self.alarm_rate <= 0:
            return
        chance = 1.0 - math.exp(-self.alarm_rate * dt / 60.0)
        for home in self.homes:
            if self.rng.random() < chance:
                self.raise_alarm(sender, home, now)

    def raise_alarm(self, sender: Sender, home: Home, now: float, event: str | None = None) -> str:
        """Make ``home`` raise ``event`` (random by :data:`ALARM_WEIGHTS` when None)."""
        if event is None:
            event = self.rng.choices(list(ALARM_WEIGHTS), weights=list(ALARM_WEIGHTS.values()))[0]
        device = home.devices[ALARM_ROLE[event]]
        self._send(sender, device, event, now)
        if event == "leak":
            self._followups.append((now + self.rng.uniform(*LEAK_CLEARS_AFTER_S), device, "leak_cleared"))
        return event

    def run(
        self,
        sender: Sender,
        *,
        duration: float | None = None,
        tick: float = 1.0,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        """Run until ``duration`` seconds have passed or ``stop`` is set."""
        start = last = clock()
        self.start(sender, start)
        while stop is None or not stop.is_set():
            now = clock()
            if duration is not None and now - start >= duration:
                break
            self.step(sender, now, now - last)
            last = now
            pause = tick - (clock() - now)
            if pause > 0:
                if stop is not None:
                    stop.wait(pause)
                else:
                    sleep(pause)
