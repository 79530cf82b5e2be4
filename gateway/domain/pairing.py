"""Pairing a device the way installers work (issue 9): choose a home and a kind, press the
device's button, and the next new device heard is bound to that home. Pure rules, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from device_adapters.events import DeviceEvent, EventKind

# What an installer may pair a device as (the registry's kind): alarm devices first.
PAIRING_KINDS = ("sos", "fall", "leak", "smoke", "gas", "co", "door", "motion", "presence", "hub")
DEFAULT_WINDOW = timedelta(minutes=2)
MAX_WINDOW = timedelta(minutes=10)

# Not a device being pressed or triggered: the gateway's own findings, and availability (a bridge
# saying a device went offline or came back).
_NOT_A_PRESS = frozenset({EventKind.AVAILABILITY, EventKind.DEVICE_OFFLINE, EventKind.DEVICE_ONLINE,
                          EventKind.INACTIVITY, EventKind.ACTIVITY_RESUMED, EventKind.POWER_OUTAGE})
_GATEWAY_SOURCES = frozenset({"supervision", "inactivity"})


def presses(events: Iterable[DeviceEvent]) -> list[DeviceEvent]:
    """The events that a device sends itself when it is pressed, triggered or woken."""
    return [e for e in events if e.kind not in _NOT_A_PRESS and e.source not in _GATEWAY_SOURCES]


def first_new(events: Iterable[DeviceEvent], new_devices: set[str]) -> DeviceEvent | None:
    """The first press from a device never heard before the pairing began."""
    return next((e for e in presses(events) if e.device_id in new_devices), None)


def status_at(status: str, expires_at: datetime, now: datetime) -> str:
    """What a session is now: a waiting one past its window has expired."""
    return "expired" if status == "waiting" and now >= expires_at else status
