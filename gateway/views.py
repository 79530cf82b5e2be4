"""Orders as the API and the live feed show them (docs/api.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row

from gateway.clock import iso
from gateway.domain.ladders import Step, position
from gateway.domain.sla import clock
from gateway.storage.models import Order, TimelineEntry

_TIME_FIELDS = (
    "opened_at", "ack_due_at", "onsite_due_at", "at_risk_at", "acknowledged_at", "dispatched_at", "accepted_at",
    "departed_at", "arrived_at", "resolved_at", "closed_at", "cancelled_at", "last_event_at", "resolve_due_at",
)


def _step_json(step: tuple[Step, datetime] | None) -> dict[str, Any] | None:
    if step is None:
        return None
    return {"step": step[0].name, "due_at": iso(step[1]), "audience": [a.value for a in step[0].audience],
            "breach": step[0].breach}


def order_json(order: Order | Row[Any], now: datetime) -> dict[str, Any]:
    """``order``: the model, or a Core row of the orders table (the alarm path reads those)."""
    ended = order.resolved_at or order.closed_at or order.cancelled_at
    c = clock(
        now=now,
        opened_at=order.opened_at,
        ack_due_at=order.ack_due_at,
        onsite_due_at=order.onsite_due_at,
        at_risk_at=order.at_risk_at,
        acknowledged_at=order.acknowledged_at or order.dispatched_at,
        arrived_at=order.arrived_at,
        ended_at=ended,
    )
    out: dict[str, Any] = {
        "id": order.id,
        "kind": order.kind,
        "category": order.category,
        "priority": order.priority,
        "status": order.status,
        "device_id": order.device_id,
        "home_id": order.home_id,
        "unregistered": order.unregistered,
        "resident": order.resident,
        "address": order.address,
        "grid": order.grid,
        "assignee": order.assignee,
        "cancel_reason": order.cancel_reason,
        "event_count": order.event_count,
    }
    for name in _TIME_FIELDS:
        out[name] = iso(getattr(order, name))
    current, upcoming = position(order.kind, order, now)
    out["ladder"] = {"current": _step_json(current), "next": _step_json(upcoming)}
    out["clock"] = {
        "now": iso(now),
        "elapsed_s": round(c.elapsed_s, 3),
        "ack_remaining_s": None if c.ack_remaining_s is None else round(c.ack_remaining_s, 3),
        "onsite_remaining_s": None if c.onsite_remaining_s is None else round(c.onsite_remaining_s, 3),
        "ack_overdue": c.ack_overdue,
        "at_risk": c.at_risk,
        "breached": c.breached,
    }
    return out


def timeline_json(entries: list[TimelineEntry]) -> list[dict[str, Any]]:
    return [
        {"at": iso(e.at), "actor": e.actor, "action": e.action, "note": e.note, "data": e.data}
        for e in entries
    ]
