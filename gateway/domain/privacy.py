"""Who may read which part of a resident's record, as data and pure rules (no I/O).

A record has ordinary fields (name, home, phone, living alone, age band, contacts who do not
hold a key) and sensitive ones (issue 5): the medical notes and the key holders (the contacts
who hold a key to the home: name, relation, phone and the fact itself). The whole entry of a
key holder is withheld, not only the flag: "who can open this door" is the secret.

Who reads a record at all:
- admins and dispatchers: every record;
- grid workers: the records of their own grid's homes;
- technicians: the records of homes where an active order of any kind is assigned to them;
- residents: their own record (the one that names their login).

Who reads the sensitive fields of a record they may read:
- admins and dispatchers: always (``Access.OFFICE``);
- the resident: their own (``Access.SELF``): it is their own data;
- a technician: while assigned to an open emergency at that home (``Access.ASSIGNED_EMERGENCY``),
  not before it is dispatched to them, not once it is resolved, and not for other kinds of
  order (a leak ticket, a repair, a wellbeing check);
- grid workers: never (the issue does not name them).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum
from typing import Any

from gateway.domain.orders import ACTIVE_STATUSES, Category
from gateway.domain.roles import OFFICE, Role


class Sensitive(StrEnum):
    """The parts of a record that are withheld from those who may not see them."""

    MEDICAL_NOTES = "medical_notes"
    KEY_HOLDERS = "key_holders"


class Access(StrEnum):
    """Why a viewer sees the sensitive parts of a record."""

    OFFICE = "office"
    SELF = "self"
    ASSIGNED_EMERGENCY = "assigned_emergency"


# Orders whose assignee may read the sensitive parts of the home's records while they are open.
SENSITIVE_ORDER_CATEGORIES: frozenset[Category] = frozenset({Category.EMERGENCY})
# Roles that read the sensitive parts as the assignee of such an order.
ASSIGNEE_ROLES: frozenset[Role] = frozenset({Role.TECHNICIAN})


def opens_sensitive(category: str, status: str) -> bool:
    """Whether the assignee of an order in this category and status may read the sensitive
    parts of the records of the order's home: an emergency that is still open."""
    return category in SENSITIVE_ORDER_CATEGORIES and status in ACTIVE_STATUSES


def sensitive_access(role: str, user_name: str, *, open_emergency_assignees: Collection[str],
                     record_user: str | None = None) -> Access | None:
    """Why ``user_name`` (with ``role``) may read a record's sensitive parts, or None if they may not.
    ``open_emergency_assignees``: who is assigned to an open emergency at the record's home;
    ``record_user``: the login of the resident the record is about, if any."""
    if role in OFFICE:
        return Access.OFFICE
    if role == Role.RESIDENT and record_user is not None and user_name == record_user:
        return Access.SELF
    if role in ASSIGNEE_ROLES and user_name in open_emergency_assignees:
        return Access.ASSIGNED_EMERGENCY
    return None


def can_see_sensitive(role: str, user_name: str, *, open_emergency_assignees: Collection[str],
                      record_user: str | None = None) -> bool:
    return sensitive_access(role, user_name, open_emergency_assignees=open_emergency_assignees,
                            record_user=record_user) is not None


def can_see_record(role: str, user_name: str, *, user_grid: str, record_grid: str, record_user: str | None,
                   assigned_at_home: bool) -> bool:
    """Whether a viewer may read a record at all. ``assigned_at_home``: an active order (of any
    kind) at the record's home is assigned to the viewer."""
    if role in OFFICE:
        return True
    if role == Role.GRID_WORKER:
        return bool(user_grid) and record_grid == user_grid
    if role == Role.TECHNICIAN:
        return assigned_at_home
    if role == Role.RESIDENT:
        return record_user is not None and user_name == record_user
    return False


def redact(record: Mapping[str, Any], access: Access | None) -> dict[str, Any]:
    """The record as the viewer may read it: with ``access`` None, without ``medical_notes`` and
    without the contacts who hold a key. ``withheld`` names what was left out (always both when
    access is refused, whether or not the record has any, so that it gives nothing away)."""
    out = dict(record)
    out["access"] = access.value if access is not None else None
    if access is not None:
        out["withheld"] = []
        return out
    out.pop(Sensitive.MEDICAL_NOTES.value, None)
    out["contacts"] = [c for c in record.get("contacts", []) if not c.get("holds_key")]
    out["withheld"] = [s.value for s in Sensitive]
    return out
