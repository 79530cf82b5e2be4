"""Ademco Contact ID (SIA DC-05) as carried by SIA DC-09 ``ADM-CID`` messages: the payload and the
event-code table, as data.

The payload inside the DC-09 data block is ``#<account>|<Q><EEE> <GG> <ZZZ>``:

- ``Q`` event qualifier: ``1`` new event (or opening), ``3`` restore (or closing), ``6`` previously
  reported condition still present (status report);
- ``EEE`` the event code, three decimal digits;
- ``GG`` group or partition, two digits;
- ``ZZZ`` zone or user number, three digits (``000``: the panel itself).

The table is data, in :mod:`device_adapters.contact_id_codes`: adding a code means adding a row to
:data:`KNOWN_CODES`, not code. A code the table does not know is refused here with the reason
``unknown_event_code``; the DC-09 decoder turns that into an ``unknown_alarm`` event for a person (and
the receiver keeps the frame as a dead letter).

Liberal: some panels send the account inside the payload without its ``#`` (``1234|1130 01 003``);
it is read the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from device_adapters.contact_id_codes import CONTACT_ID_CODES, KNOWN_CODES, Address, CidCode, build_table
from device_adapters.events import DecodeError, EventKind

__all__ = [
    "CONTACT_ID_CODES",
    "KNOWN_CODES",
    "Address",
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


_HEX = frozenset("0123456789ABCDEFabcdef")
_DIGITS = frozenset("0123456789")
_ACCOUNT = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


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
        head = head.removeprefix("#")  # some panels leave the '#' out
        if not 3 <= len(head) <= 16 or not _ACCOUNT.issuperset(head):
            raise DecodeError("bad_payload", f"Contact ID account {head[:24]!r} must be #<3-16 hex digits>")
        account = head
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
