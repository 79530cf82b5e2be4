"""What the simulator knows about devices, as data.

Each simulated model says which readings it reports (its Zigbee2MQTT state JSON at rest), which
events it can raise and how each event changes those readings. The encoders in
:mod:`firmware_sim.encoding` turn the result into wire formats; nothing here does I/O.

The Zigbee2MQTT field names follow what Zigbee2MQTT publishes for comparable real devices
(a Tuya SOS button's ``action: "emergency"``, a Tuya mmWave radar's ``fall_down_status``
``none | maybe_fall | fall`` and ``presence``, a SONOFF water-leak sensor's ``water_leak``,
``battery_low`` and ``tamper``), and the Zigbee2MQTT model names are those of
:data:`device_adapters.zigbee2mqtt_models.KNOWN_MODELS`, so the gateway decodes them with the right profile.
The native model names are our own firmware's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from device_adapters.events import EventKind


class Format(StrEnum):
    """The wire format a simulated device speaks."""

    Z2M = "z2m"  # Zigbee2MQTT state JSON on <base>/<friendly_name>
    NATIVE = "native"  # shewu/v1/<device_id>/event
    SERIAL = "serial"  # $SW1 line protocol on a serial port


class Role(StrEnum):
    """What a device is for in a resident's home (the registry's ``kind`` column)."""

    SOS_BUTTON = "sos_button"
    FALL_RADAR = "fall_radar"
    LEAK_DETECTOR = "leak_detector"


# The registry's kind of each role: the words the gateway's rules read (gateway.domain.routing's
# raised priority for alarm devices, rtl_433 and Zigbee2MQTT rows bound by kind, pairing).
REGISTRY_KIND: dict[Role, str] = {Role.SOS_BUTTON: "sos", Role.FALL_RADAR: "fall", Role.LEAK_DETECTOR: "leak"}


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One simulated device model.

    ``initial`` is the Zigbee2MQTT state JSON the device reports at rest (also the readings the
    native and serial formats send, restricted to ``report_keys``). ``events`` maps each alarm
    kind the model can raise to the state fields it sets. Fields in ``transient`` go back to their
    ``initial`` value once published (a fall alarm resets, a tamper switch closes again);
    ``action`` is always transient and is cleared with ``""`` the way Zigbee2MQTT clears it.
    """

    role: Role
    z2m_model: str
    z2m_vendor: str
    native_model: str
    description: str
    initial: Mapping[str, Any]
    events: Mapping[EventKind, Mapping[str, Any]]
    report_keys: tuple[str, ...]
    transient: frozenset[str] = field(default_factory=frozenset)
    battery_powered: bool = True

    def model_for(self, fmt: Format) -> str:
        """The model name a registry row should carry for a device speaking ``fmt``."""
        return self.z2m_model if fmt is Format.Z2M else self.native_model


# Kinds every device can send, whatever its model.
COMMON_KINDS: frozenset[EventKind] = frozenset(
    {EventKind.HEARTBEAT, EventKind.TELEMETRY, EventKind.AVAILABILITY}
)

MODELS: dict[Role, ModelSpec] = {
    Role.SOS_BUTTON: ModelSpec(
        role=Role.SOS_BUTTON,
        z2m_model="TS0215A_sos",
        z2m_vendor="Tuya",
        native_model="SW-SOS-1",
        description="SOS emergency button (worn or by the bed)",
        initial={"battery": 100, "battery_low": False, "linkquality": 120, "voltage": 3000},
        events={
            EventKind.SOS: {"action": "emergency"},
            EventKind.BATTERY_LOW: {"battery": 8, "battery_low": True, "voltage": 2400},
        },
        report_keys=("battery", "battery_low", "linkquality"),
    ),
    Role.FALL_RADAR: ModelSpec(
        role=Role.FALL_RADAR,
        z2m_model="MIR-HE200-TY_fall",
        z2m_vendor="Tuya",
        native_model="SW-FALL-1",
        description="mmWave presence radar with fall detection (ceiling, mains powered)",
        initial={
            "fall_down_status": "none",
            "illuminance_lux": 120,
            "linkquality": 96,
            "motion_speed": 0,
            "occupancy": True,
            "presence": True,
        },
        events={
            EventKind.FALL: {
                "fall_down_status": "fall",
                "presence": True,
                "occupancy": True,
                "motion_speed": 0,
            },
        },
        report_keys=("presence", "fall_down_status", "motion_speed", "linkquality"),
        transient=frozenset({"fall_down_status"}),
        battery_powered=False,
    ),
    Role.LEAK_DETECTOR: ModelSpec(
        role=Role.LEAK_DETECTOR,
        z2m_model="SNZB-05",
        z2m_vendor="SONOFF",
        native_model="SW-LEAK-1",
        description="water-leak detector (kitchen or bathroom floor)",
        initial={
            "battery": 100,
            "battery_low": False,
            "linkquality": 87,
            "tamper": False,
            "water_leak": False,
        },
        events={
            EventKind.LEAK: {"water_leak": True},
            EventKind.LEAK_CLEARED: {"water_leak": False},
            EventKind.BATTERY_LOW: {"battery": 9, "battery_low": True},
            EventKind.TAMPER: {"tamper": True},
        },
        report_keys=("water_leak", "battery", "battery_low", "tamper", "linkquality"),
        transient=frozenset({"tamper"}),
    ),
}


@dataclass(frozen=True, slots=True)
class EventName:
    """A name people type (CLI, scenario files) for something a device does."""

    kind: EventKind
    value: str | None = None  # availability: "online" / "offline"


# The vocabulary of the CLI and of scenario files.
EVENT_NAMES: dict[str, EventName] = {
    "sos": EventName(EventKind.SOS),
    "fall": EventName(EventKind.FALL),
    "leak": EventName(EventKind.LEAK),
    "leak_cleared": EventName(EventKind.LEAK_CLEARED),
    "cleared": EventName(EventKind.LEAK_CLEARED),
    "battery_low": EventName(EventKind.BATTERY_LOW),
    "tamper": EventName(EventKind.TAMPER),
    "heartbeat": EventName(EventKind.HEARTBEAT),
    "telemetry": EventName(EventKind.TELEMETRY),
    "online": EventName(EventKind.AVAILABILITY, "online"),
    "offline": EventName(EventKind.AVAILABILITY, "offline"),
}

# Which role raises which alarm, when a device id does not say.
ROLE_FOR_KIND: dict[EventKind, Role] = {
    EventKind.SOS: Role.SOS_BUTTON,
    EventKind.FALL: Role.FALL_RADAR,
    EventKind.LEAK: Role.LEAK_DETECTOR,
    EventKind.LEAK_CLEARED: Role.LEAK_DETECTOR,
    EventKind.TAMPER: Role.LEAK_DETECTOR,
}

# Words in a device id that give its role away (checked in this order).
ROLE_HINTS: tuple[tuple[str, Role], ...] = (
    ("sos", Role.SOS_BUTTON),
    ("button", Role.SOS_BUTTON),
    ("fall", Role.FALL_RADAR),
    ("radar", Role.FALL_RADAR),
    ("leak", Role.LEAK_DETECTOR),
    ("water", Role.LEAK_DETECTOR),
)


def parse_event_name(name: str) -> EventName:
    """``"battery-low"`` / ``"battery_low"`` / ``"SOS"`` → the event; ValueError when unknown."""
    key = name.strip().lower().replace("-", "_")
    try:
        return EVENT_NAMES[key]
    except KeyError:
        known = ", ".join(sorted(EVENT_NAMES))
        raise ValueError(f"unknown event {name!r} (known: {known})") from None


def guess_role(device_id: str, kind: EventKind | None = None) -> Role:
    """The role of a device from its id (``elder-101-sos`` → SOS button), else from the event."""
    lowered = device_id.lower()
    for hint, role in ROLE_HINTS:
        if hint in lowered:
            return role
    if kind is not None and kind in ROLE_FOR_KIND:
        return ROLE_FOR_KIND[kind]
    return Role.SOS_BUTTON
