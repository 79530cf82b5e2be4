"""The normalized device event: the one shape every wire format is decoded into.

Decoders produce these; the gateway routes them. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    SOS = "sos"
    FALL = "fall"
    LEAK = "leak"
    LEAK_CLEARED = "leak_cleared"
    AVAILABILITY = "availability"  # value: "online" | "offline"
    BATTERY_LOW = "battery_low"  # value: battery percentage when known
    TAMPER = "tamper"
    TAMPER_CLEARED = "tamper_cleared"  # the case is closed again (alarm panels' restore)
    BATTERY_OK = "battery_ok"  # battery restored or replaced
    ACTIVITY = "activity"  # motion, door or presence: someone is up and about (value: what)
    POWER_LOST = "power_lost"  # mains power lost (the unit runs on its backup battery)
    POWER_RESTORED = "power_restored"
    HEARTBEAT = "heartbeat"
    # Alarm panels (SIA DC-09: Contact ID and SIA-DCS codes). ``value`` says what exactly: a fire is
    # "smoke", "heat", "sprinkler", ...; an alarm "general", "freeze", "low_temperature", ...
    FIRE = "fire"
    FIRE_CLEARED = "fire_cleared"
    GAS = "gas"  # gas detected (natural gas, LPG)
    GAS_CLEARED = "gas_cleared"
    CO = "co"  # carbon monoxide detected
    CO_CLEARED = "co_cleared"
    INTRUSION = "intrusion"  # burglary, forced door
    ALARM = "alarm"  # an alarm of no more specific kind (general, untyped, freeze, low temperature, ...)
    # A panel's event whose code (or payload) is not understood: a person looks at it (fail open).
    # ``value`` is the code as sent; ``raw["reason"]`` says why it could not be classified.
    UNKNOWN_ALARM = "unknown_alarm"
    TROUBLE = "trouble"  # a panel's or sensor's fault other than power, battery, tamper, supervision
    TROUBLE_CLEARED = "trouble_cleared"
    # Raised by the gateway's supervision, not by devices: a missed reporting deadline or
    # "offline" availability, the device heard from again, mains power still lost after the delay.
    DEVICE_OFFLINE = "device_offline"
    DEVICE_ONLINE = "device_online"
    POWER_OUTAGE = "power_outage"
    # Raised by inactivity monitoring: the home has been silent too long in its watched window;
    # and, after that, someone moves again.
    INACTIVITY = "inactivity"
    ACTIVITY_RESUMED = "activity_resumed"
    TELEMETRY = "telemetry"  # readings only (battery, linkquality, temperature, ...): no alarm


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """One thing a device said, in our words.

    ``at`` is timezone-aware UTC: the device's own time when the message carries one,
    otherwise the time the message was received. ``raw`` keeps the whole decoded reading,
    including fields no model table knows about. ``event_id`` is set only when the source
    gives each message a unique id (native firmware, serial receivers); the gateway then
    drops exact redeliveries by it.
    """

    device_id: str
    kind: EventKind
    at: datetime
    source: str  # "zigbee2mqtt" | "native" | "serial"
    raw: dict[str, Any] = field(default_factory=dict)
    value: Any = None
    model: str | None = None
    event_id: str | None = None


class DecodeError(ValueError):
    """A message that cannot be decoded. ``reason`` is short and stable (for counters);
    ``detail`` says what exactly was wrong, for the dead-letter record."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
