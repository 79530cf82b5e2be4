"""SLA clocks: how an order stands against its targets at a given moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Clock:
    now: datetime
    elapsed_s: float
    ack_remaining_s: float | None
    onsite_remaining_s: float | None
    ack_overdue: bool
    at_risk: bool
    breached: bool


def clock(
    *,
    now: datetime,
    opened_at: datetime,
    ack_due_at: datetime | None,
    onsite_due_at: datetime,
    at_risk_at: datetime,
    acknowledged_at: datetime | None,
    arrived_at: datetime | None,
    ended_at: datetime | None,
) -> Clock:
    """``ended_at`` is when the order was resolved, closed or cancelled: the clock stops there."""
    stop = min(now, ended_at) if ended_at else now
    elapsed = (stop - opened_at).total_seconds()
    ack_remaining = None
    ack_overdue = False
    if ack_due_at is not None:
        if acknowledged_at is None:
            ack_remaining = (ack_due_at - stop).total_seconds()
            ack_overdue = ack_remaining < 0
        else:
            ack_overdue = acknowledged_at > ack_due_at
    if arrived_at is None:
        onsite_remaining: float | None = (onsite_due_at - stop).total_seconds()
        breached = stop >= onsite_due_at
        at_risk = ended_at is None and not breached and stop >= at_risk_at
    else:
        onsite_remaining = None
        breached = arrived_at > onsite_due_at
        at_risk = False
    return Clock(
        now=now,
        elapsed_s=elapsed,
        ack_remaining_s=ack_remaining,
        onsite_remaining_s=onsite_remaining,
        ack_overdue=ack_overdue,
        at_risk=at_risk,
        breached=breached,
    )
