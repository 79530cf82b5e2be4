"""Ademco Contact ID (SIA DC-05) as carried by SIA DC-09 ``ADM-CID`` messages: the payload and the
event-code table, as data.

The payload inside the DC-09 data block is ``#<account>|<Q><EEE> <GG> <ZZZ>``:

- ``Q`` event qualifier: ``1`` new event (or opening), ``3`` restore (or closing), ``6`` previously
  reported condition still present (status report);
- ``EEE`` the event code, three decimal digits;
- ``GG`` group or partition, two digits;
- ``ZZZ`` zone or user number, three digits (``000``: the panel itself).

Adding a code means adding a row to :data:`KNOWN_CODES`, not code. A code the table does not know is
refused with the reason ``unknown_event_code`` (the receiver still acknowledges the frame, which
arrived intact, and keeps the event as a dead letter).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from device_adapters.events import DecodeError, EventKind

__all__ = [
    "CONTACT_ID_CODES",
    "KNOWN_CODES",
    "CidCode",
    "ContactIdEvent",
    "Qualifier",
    "build_table",
    "parse_contact_id",
]


class Qualifier(IntEnum):
    NEW = 1
    RESTORE = 3
    STATUS = 6


@dataclass(frozen=True, slots=True)
class CidCode:
    """One row: what an event code means when new (qualifier 1 or 6) and when restored (3).

    ``restore_kind`` None: a restore of this code raises nothing (it becomes telemetry, so it is still
    recorded): e.g. a medical alarm being reset at the panel.
    """

    code: str
    name: str
    kind: EventKind
    restore_kind: EventKind | None = None
    value: Any = None
    restore_value: Any = None

    def __post_init__(self) -> None:
        if len(self.code) != 3 or not self.code.isdigit():
            raise ValueError(f"Contact ID code {self.code!r} must be three digits")


_AV = EventKind.AVAILABILITY

KNOWN_CODES: tuple[CidCode, ...] = (
    # Medical alarms (1xx): page someone. There is no "SOS over" kind; a restore is telemetry.
    CidCode("100", "medical", EventKind.SOS, value="medical"),
    CidCode("101", "personal_emergency", EventKind.SOS, value="personal_emergency"),
    # Water
    CidCode("154", "water_leakage", EventKind.LEAK, EventKind.LEAK_CLEARED),
    # Tamper
    CidCode("137", "tamper", EventKind.TAMPER, EventKind.TAMPER_CLEARED),
    CidCode("383", "sensor_tamper", EventKind.TAMPER, EventKind.TAMPER_CLEARED),
    # Supervision: the sensor (or the panel's radio) has not been heard
    CidCode("147", "sensor_supervision_failure", _AV, _AV, "offline", "online"),
    CidCode("355", "loss_of_radio_supervision", _AV, _AV, "offline", "online"),
    CidCode("381", "loss_of_supervision_rf", _AV, _AV, "offline", "online"),
    # Power and batteries
    CidCode("301", "ac_loss", EventKind.POWER_LOST, EventKind.POWER_RESTORED),
    CidCode("302", "low_system_battery", EventKind.BATTERY_LOW, EventKind.BATTERY_OK),
    CidCode("384", "rf_low_battery", EventKind.BATTERY_LOW, EventKind.BATTERY_OK),
    # Tests: the panel is alive (like a DC-09 NULL message)
    CidCode("602", "periodic_test_report", EventKind.HEARTBEAT, EventKind.HEARTBEAT),
)


def build_table(codes: Iterable[CidCode]) -> dict[str, CidCode]:
    table: dict[str, CidCode] = {}
    for c in codes:
        if c.code in table:
            raise ValueError(f"Contact ID code {c.code} listed twice")
        table[c.code] = c
    return table


CONTACT_ID_CODES: Mapping[str, CidCode] = build_table(KNOWN_CODES)

_HEX = frozenset("0123456789ABCDEFabcdef")
_DIGITS = frozenset("0123456789")


@dataclass(frozen=True, slots=True)
class ContactIdEvent:
    """One parsed Contact ID event. ``account`` is the one inside the payload (None when absent)."""

    account: str | None
    qualifier: Qualifier
    code: str
    group: str
    zone: str

    @property
    def restore(self) -> bool:
        return self.qualifier is Qualifier.RESTORE

    def lookup(self, table: Mapping[str, CidCode] = CONTACT_ID_CODES) -> CidCode:
        """The table row of this code; ``unknown_event_code`` when there is none."""
        row = table.get(self.code)
        if row is None:
            raise DecodeError("unknown_event_code", f"Contact ID event code {self.code} is not in the table")
        return row

    def kind_and_value(self, table: Mapping[str, CidCode] = CONTACT_ID_CODES) -> tuple[EventKind, Any]:
        """The event this means: the row's kind (qualifier 1 or 6) or restore kind (3); a restore
        without a restore kind is ``telemetry``."""
        row = self.lookup(table)
        if self.restore:
            if row.restore_kind is None:
                return EventKind.TELEMETRY, None
            return row.restore_kind, row.restore_value
        return row.kind, row.value


def parse_contact_id(data: str) -> ContactIdEvent:
    """``#1234|1154 01 003`` (the ``#account|`` part is optional) → :class:`ContactIdEvent`.

    Reasons: ``bad_payload`` (not this shape), ``bad_qualifier`` (not 1, 3 or 6).
    """
    account: str | None = None
    body = data
    if "|" in data:
        head, _, body = data.partition("|")
        if not head.startswith("#") or not 3 <= len(head) - 1 <= 16 or not _HEX.issuperset(head[1:]):
            raise DecodeError("bad_payload", f"Contact ID account {head[:24]!r} must be #<3-16 hex digits>")
        account = head[1:]
    parts = body.split(" ")
    if len(parts) != 3 or len(parts[0]) != 4 or len(parts[1]) != 2 or len(parts[2]) != 3:
        raise DecodeError("bad_payload", f"Contact ID {body[:40]!r} is not 'QEEE GG ZZZ'")
    qe, group, zone = parts
    if not _DIGITS.issuperset(qe):
        raise DecodeError("bad_payload", f"Contact ID qualifier and code {qe!r} must be digits")
    if not _HEX.issuperset(group) or not _HEX.issuperset(zone):
        raise DecodeError("bad_payload", f"Contact ID group {group!r} / zone {zone!r} must be digits")
    try:
        qualifier = Qualifier(int(qe[0]))
    except ValueError:
        raise DecodeError("bad_qualifier", f"Contact ID qualifier {qe[0]} is not 1, 3 or 6") from None
    return ContactIdEvent(account, qualifier, qe[1:], group.upper(), zone.upper())
