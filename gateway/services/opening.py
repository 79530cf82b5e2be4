"""Opening orders that do not come from a device: residents' requests and care visits.

The same table, open key, timeline and ladder rows as the alarm path, in the caller's
transaction. Due times are given (they may count working hours only), and the ladder's steps
fall due at them rather than at fixed delays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from gateway.domain.orders import Category, Priority, initial_status
from gateway.storage import crud
from gateway.storage.models import Home


@dataclass(frozen=True, slots=True)
class Due:
    """When the order should be taken up (``ack``: accepted / dispatched), reached (``onsite``),
    looked at as at risk (``at_risk``), and optionally resolved (``resolve``)."""

    ack: datetime | None
    onsite: datetime
    at_risk: datetime
    resolve: datetime | None = None


def open_order(session: Session, *, kind: str, category: Category, priority: Priority, now: datetime,
               due: Due, home: Home | None, open_key: str | None, actor: str, note: str | None = None,
               assignee: str | None = None, steps: list[tuple[str, datetime]] = (),  # type: ignore[assignment]
               data: dict[str, Any] | None = None) -> tuple[Any, bool]:
    """Insert the order (or, if ``open_key`` is held by an active order, do nothing) and answer
    ``(row, opened)``: the new order and True, or the active order holding the key and False.
    ``steps``: ladder steps (name, due time) to queue for the scheduler."""
    values = {
        "kind": kind, "category": category.value, "priority": priority.value,
        "status": initial_status(category).value if assignee is None else "dispatched",
        "device_id": "", "home_id": home.home_id if home else None, "unregistered": False,
        "resident": home.resident if home else "", "address": home.address if home else "",
        "grid": home.grid if home else "", "assignee": assignee, "open_key": open_key,
        "opened_at": now, "ack_due_at": due.ack, "onsite_due_at": due.onsite, "at_risk_at": due.at_risk,
        "resolve_due_at": due.resolve,
        "dispatched_at": now if assignee else None, "event_count": 1, "last_event_at": now,
    }
    row = crud.insert_order_unless_open(session, values=values)
    if row is None:
        existing = crud.active_order_id(session, open_key=open_key or "")
        if existing is None:  # closed in between: try once more
            row = crud.insert_order_unless_open(session, values=values)
        else:
            [held] = crud.order_rows(session, ids={existing})
            return held, False
    assert row is not None
    crud.append_timeline_rows(session, rows=[{"order_id": row.id, "at": now, "actor": actor, "action": "opened",
                                              "note": note, "data": data}])
    crud.add_escalation_steps(session, rows=[{"order_id": row.id, "order_kind": kind, "step": name, "due_at": at}
                                             for name, at in steps])
    return row, True
