"""Routing rules as data: which device event opens which order, with which targets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from device_adapters.events import EventKind
from gateway.domain.orders import Category, Priority


@dataclass(frozen=True, slots=True)
class Targets:
    """Service targets, measured from opening. ``ack`` is None where the kind has no ack step."""

    ack: timedelta | None
    onsite: timedelta
    at_risk: timedelta  # nobody on site this long after opening: "at risk"


@dataclass(frozen=True, slots=True)
class Raised:
    """A higher priority for devices of these kinds (in the registry)."""

    device_kinds: frozenset[str]
    priority: Priority
    targets: Targets


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """Open (or count a repeat on) an order of this kind for the event's device."""

    order_kind: str
    category: Category
    priority: Priority
    targets: Targets
    raised: Raised | None = None

    def for_device(self, device_kind: str | None) -> tuple[Priority, Targets]:
        if self.raised is not None and device_kind in self.raised.device_kinds:
            return self.raised.priority, self.raised.targets
        return self.priority, self.targets


class Effect(StrEnum):
    NOTE_ON_OPEN_ORDER = "note_on_open_order"  # add to the open order's timeline, never close it
    DEVICE_STATUS = "device_status"  # only update what we know of the device


@dataclass(frozen=True, slots=True)
class NoteOnOrder:
    order_kind: str  # the kind of order whose timeline gets the note


Rule = OpenOrder | NoteOnOrder | Effect

EMERGENCY = Targets(ack=timedelta(seconds=60), onsite=timedelta(minutes=15), at_risk=timedelta(minutes=10))
# A leak in a resident's home: the property team should be there within the hour.
LEAK_REPAIR = Targets(ack=timedelta(minutes=10), onsite=timedelta(hours=1), at_risk=timedelta(minutes=40))
# Low battery, tamper: within two working days.
MAINTENANCE = Targets(ack=timedelta(hours=4), onsite=timedelta(hours=48), at_risk=timedelta(hours=36))

# An SOS button or fall radar that is offline leaves its resident unprotected: P2, on the
# on-call board, someone there within 4 hours.
UNPROTECTED = Targets(ack=timedelta(minutes=30), onsite=timedelta(hours=4), at_risk=timedelta(hours=3))
ALARM_DEVICES = Raised(frozenset({"sos", "fall"}), Priority.P2, UNPROTECTED)

# No activity in a home: someone should look in within the hour.
WELLBEING = Targets(ack=timedelta(minutes=15), onsite=timedelta(hours=1), at_risk=timedelta(minutes=45))

# An alarm a person must check soon, not a life-safety emergency: an intrusion, an alarm panel's
# general or temperature alarm, and an alarm the panel sent that we cannot classify (fail open).
ALARM_CHECK = Targets(ack=timedelta(minutes=5), onsite=timedelta(minutes=30), at_risk=timedelta(minutes=20))

RULES: dict[EventKind, Rule] = {
    EventKind.SOS: OpenOrder("sos", Category.EMERGENCY, Priority.P1, EMERGENCY),
    EventKind.FALL: OpenOrder("fall", Category.EMERGENCY, Priority.P1, EMERGENCY),
    # Fire, gas and carbon monoxide in an elderly resident's home are emergencies like an SOS.
    EventKind.FIRE: OpenOrder("fire", Category.EMERGENCY, Priority.P1, EMERGENCY),
    EventKind.FIRE_CLEARED: NoteOnOrder("fire"),
    EventKind.GAS: OpenOrder("gas", Category.EMERGENCY, Priority.P1, EMERGENCY),
    EventKind.GAS_CLEARED: NoteOnOrder("gas"),
    EventKind.CO: OpenOrder("co", Category.EMERGENCY, Priority.P1, EMERGENCY),
    EventKind.CO_CLEARED: NoteOnOrder("co"),
    EventKind.INTRUSION: OpenOrder("intrusion", Category.EMERGENCY, Priority.P2, ALARM_CHECK),
    EventKind.ALARM: OpenOrder("alarm", Category.EMERGENCY, Priority.P2, ALARM_CHECK),
    EventKind.UNKNOWN_ALARM: OpenOrder("unknown_alarm", Category.EMERGENCY, Priority.P2, ALARM_CHECK),
    EventKind.TROUBLE: OpenOrder("trouble", Category.MAINTENANCE, Priority.P3, MAINTENANCE),
    EventKind.TROUBLE_CLEARED: NoteOnOrder("trouble"),
    EventKind.LEAK: OpenOrder("leak", Category.REPAIR, Priority.P2, LEAK_REPAIR),
    EventKind.LEAK_CLEARED: NoteOnOrder("leak"),
    EventKind.BATTERY_LOW: OpenOrder("battery_low", Category.MAINTENANCE, Priority.P3, MAINTENANCE),
    EventKind.TAMPER: OpenOrder("tamper", Category.MAINTENANCE, Priority.P3, MAINTENANCE),
    EventKind.TAMPER_CLEARED: NoteOnOrder("tamper"),
    EventKind.BATTERY_OK: NoteOnOrder("battery_low"),
    # Supervision turns silence, "offline" and lasting power loss into these (source "supervision").
    EventKind.DEVICE_OFFLINE: OpenOrder("offline", Category.MAINTENANCE, Priority.P3, MAINTENANCE, ALARM_DEVICES),
    EventKind.DEVICE_ONLINE: NoteOnOrder("offline"),
    EventKind.POWER_OUTAGE: OpenOrder("power_lost", Category.MAINTENANCE, Priority.P3, MAINTENANCE, ALARM_DEVICES),
    EventKind.POWER_RESTORED: NoteOnOrder("power_lost"),
    EventKind.INACTIVITY: OpenOrder("wellbeing", Category.WELLBEING, Priority.P2, WELLBEING),
    EventKind.ACTIVITY_RESUMED: NoteOnOrder("wellbeing"),
    # Power loss waits for supervision's delay; activity feeds inactivity monitoring.
    EventKind.POWER_LOST: Effect.DEVICE_STATUS,
    EventKind.ACTIVITY: Effect.DEVICE_STATUS,
    EventKind.AVAILABILITY: Effect.DEVICE_STATUS,
    EventKind.HEARTBEAT: Effect.DEVICE_STATUS,
    EventKind.TELEMETRY: Effect.DEVICE_STATUS,
}

ORDER_KINDS: dict[str, OpenOrder] = {r.order_kind: r for r in RULES.values() if isinstance(r, OpenOrder)}


def route(kind: EventKind) -> Rule:
    return RULES[kind]


def open_key(device_id: str, order_kind: str) -> str:
    """The key that is unique among open orders: one open order per device and alarm kind."""
    return f"{order_kind}|{device_id}"
