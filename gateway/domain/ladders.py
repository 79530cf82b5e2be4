"""Escalation ladders as data: while a step of an order is missed, who is told, and when.

A ladder is a list of steps, each due at a delay after the order opened and void once the
order has reached the point the step waits for (acknowledged, dispatched, someone on site).
Whether a step still applies is decided when it falls due, from the order as it is then, so
acknowledging stops the acknowledgement steps and arriving stops the on-site steps without
anyone having to cancel them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class Audience(StrEnum):
    ONCALL_TEAM = "oncall_team"  # everyone on the on-call rota now
    DUTY_LEADER = "duty_leader"
    DISPATCHER = "dispatcher"  # whoever dispatched / acknowledged the order
    PROPERTY_TEAM = "property_team"


class Until(StrEnum):
    """What makes a step void."""

    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    ON_SITE = "on_site"
    RESOLVED = "resolved"
    CLOSED = "closed"  # (a resolved request waiting for the resident's confirmation)


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    after: timedelta  # from opening
    until: Until
    audience: tuple[Audience, ...]
    breach: bool = False  # reaching this step is recorded as a breach of the target
    action: str | None = None  # a step that does something instead of telling people
    due_field: str | None = None  # due at this time of the order (e.g. ``onsite_due_at``), not at ``after``


# Sends the best technician at once when automatic dispatch is switched on for the order's kind
# (gateway.services.dispatch); void otherwise. A timer like the others, so it survives restarts
# and runs once across instances.
AUTO_DISPATCH = Step("auto_dispatch", timedelta(0), Until.DISPATCHED, (), action="auto_dispatch")


P1 = (
    AUTO_DISPATCH,
    # Pushed at once to everyone on call, so that a new alarm reaches phones as well as the board.
    Step("raised", timedelta(0), Until.ACKNOWLEDGED, (Audience.ONCALL_TEAM,)),
    Step("ack_overdue", timedelta(seconds=60), Until.ACKNOWLEDGED, (Audience.ONCALL_TEAM,)),
    Step("ack_overdue_leader", timedelta(minutes=3), Until.ACKNOWLEDGED, (Audience.DUTY_LEADER,)),
    Step("dispatch_overdue", timedelta(minutes=3), Until.DISPATCHED, (Audience.DUTY_LEADER,)),
    Step("onsite_at_risk", timedelta(minutes=10), Until.ON_SITE, (Audience.DISPATCHER, Audience.DUTY_LEADER)),
    Step("onsite_breached", timedelta(minutes=15), Until.ON_SITE, (Audience.DISPATCHER, Audience.DUTY_LEADER),
         breach=True),
)
LEAK = (
    AUTO_DISPATCH,
    Step("opened", timedelta(0), Until.DISPATCHED, (Audience.PROPERTY_TEAM,)),  # to the property team's group
    Step("dispatch_overdue", timedelta(minutes=10), Until.DISPATCHED, (Audience.PROPERTY_TEAM,)),
    Step("onsite_at_risk", timedelta(minutes=40), Until.ON_SITE, (Audience.PROPERTY_TEAM, Audience.DUTY_LEADER)),
    Step("onsite_breached", timedelta(hours=1), Until.ON_SITE, (Audience.PROPERTY_TEAM, Audience.DUTY_LEADER),
         breach=True),
)
MAINTENANCE = (
    AUTO_DISPATCH,
    Step("dispatch_overdue", timedelta(hours=4), Until.DISPATCHED, (Audience.PROPERTY_TEAM,)),
    Step("onsite_breached", timedelta(hours=48), Until.ON_SITE, (Audience.PROPERTY_TEAM,), breach=True),
)

WELLBEING = (
    AUTO_DISPATCH,
    Step("silent", timedelta(0), Until.DISPATCHED, (Audience.ONCALL_TEAM,)),
    Step("dispatch_overdue", timedelta(minutes=15), Until.DISPATCHED, (Audience.DUTY_LEADER,)),
    Step("onsite_at_risk", timedelta(minutes=45), Until.ON_SITE, (Audience.DISPATCHER, Audience.DUTY_LEADER)),
    Step("onsite_breached", timedelta(hours=1), Until.ON_SITE, (Audience.DISPATCHER, Audience.DUTY_LEADER),
         breach=True),
)

# An alarm a person must check soon (intrusion, a panel's general alarm, an alarm we cannot
# classify): P2, the on-call team at once, the duty leader when nobody acknowledges in 5 minutes.
ALARM_CHECK = (
    AUTO_DISPATCH,
    Step("raised", timedelta(0), Until.ACKNOWLEDGED, (Audience.ONCALL_TEAM,)),
    Step("ack_overdue", timedelta(minutes=5), Until.ACKNOWLEDGED, (Audience.ONCALL_TEAM, Audience.DUTY_LEADER)),
    Step("dispatch_overdue", timedelta(minutes=10), Until.DISPATCHED, (Audience.DUTY_LEADER,)),
    Step("onsite_at_risk", timedelta(minutes=20), Until.ON_SITE, (Audience.DISPATCHER, Audience.DUTY_LEADER)),
    Step("onsite_breached", timedelta(minutes=30), Until.ON_SITE, (Audience.DISPATCHER, Audience.DUTY_LEADER),
         breach=True),
)

# Residents' requests: the steps fall due at the order's own target times (working hours),
# which gateway.services.requests computes; ``after`` is not used for them.
REQUEST = (
    Step("accept_overdue", timedelta(0), Until.ACCEPTED, (Audience.DISPATCHER, Audience.PROPERTY_TEAM),
         due_field="ack_due_at"),
    Step("onsite_at_risk", timedelta(0), Until.ON_SITE, (Audience.DISPATCHER,), due_field="at_risk_at"),
    Step("onsite_breached", timedelta(0), Until.ON_SITE, (Audience.DISPATCHER, Audience.DUTY_LEADER), breach=True,
         due_field="onsite_due_at"),
    Step("resolve_overdue", timedelta(0), Until.RESOLVED, (Audience.DISPATCHER, Audience.DUTY_LEADER),
         due_field="resolve_due_at"),
    # 72 h after "resolved" with no word from the resident: closed, recorded as not confirmed
    Step("auto_close", timedelta(0), Until.CLOSED, (), action="auto_close"),
)
REQUEST_KINDS = ("repair_plumbing", "repair_electrical", "repair_appliance", "repair_door_lock", "mediation",
                 "elderly_care", "cleaning", "other")

# Care visits (银龄关爱, gateway.domain.care): a visit neither done nor recorded as missed by its
# due time plus the grace (the order's ``resolve_due_at``) is told to the duty leader and the
# dispatchers on duty. ``after`` is not used.
CARE = (
    Step("care_overdue", timedelta(0), Until.RESOLVED, (Audience.DUTY_LEADER, Audience.DISPATCHER), breach=True,
         due_field="resolve_due_at"),
)
CARE_KINDS = ("weekly_visit", "monthly_activity", "quarterly_clinic", "yearly_survey")

LADDERS: dict[str, tuple[Step, ...]] = {
    "sos": P1,
    "fall": P1,
    "fire": P1,
    "gas": P1,
    "co": P1,
    "intrusion": ALARM_CHECK,
    "alarm": ALARM_CHECK,
    "unknown_alarm": ALARM_CHECK,
    "trouble": MAINTENANCE,
    "leak": LEAK,
    "battery_low": MAINTENANCE,
    "tamper": MAINTENANCE,
    "offline": MAINTENANCE,
    "power_lost": MAINTENANCE,
    "wellbeing": WELLBEING,
    **{kind: REQUEST for kind in REQUEST_KINDS},
    **{kind: CARE for kind in CARE_KINDS},
}

# A device that protects a resident (SOS button, fall radar) offline or without power: the order
# is raised to P2 (gateway.domain.routing.ALARM_DEVICES) and climbs a ladder of its own.
UNPROTECTED = (
    AUTO_DISPATCH,
    Step("unprotected", timedelta(0), Until.DISPATCHED, (Audience.ONCALL_TEAM, Audience.PROPERTY_TEAM)),
    Step("unprotected_dispatch_overdue", timedelta(minutes=30), Until.DISPATCHED,
         (Audience.DUTY_LEADER, Audience.PROPERTY_TEAM)),
    Step("unprotected_at_risk", timedelta(hours=3), Until.ON_SITE, (Audience.DISPATCHER, Audience.DUTY_LEADER)),
    Step("unprotected_breached", timedelta(hours=4), Until.ON_SITE, (Audience.DISPATCHER, Audience.DUTY_LEADER),
         breach=True),
)

# (order kind, priority) → a ladder other than the kind's own.
RAISED_LADDERS: dict[tuple[str, str], tuple[Step, ...]] = {
    ("offline", "P2"): UNPROTECTED,
    ("power_lost", "P2"): UNPROTECTED,
}

STEPS_BY_NAME: dict[tuple[str, str], Step] = {
    (kind, s.name): s
    for kind, ladder in [*LADDERS.items(), *((k, v) for (k, _), v in RAISED_LADDERS.items())]
    for s in ladder
}


def ladder_for(order_kind: str, priority: str | None = None) -> tuple[Step, ...]:
    return RAISED_LADDERS.get((order_kind, priority or ""), LADDERS.get(order_kind, ()))


def plan(order_kind: str, opened_at: datetime, priority: str | None = None) -> list[tuple[Step, datetime]]:
    """The steps of an order that has just opened, with their due times."""
    return [(step, opened_at + step.after) for step in ladder_for(order_kind, priority)]


_ACTIVE = ("open", "acknowledged", "new", "dispatched", "accepted", "en_route", "on_site", "third_party")


def still_applies(until: Until, order: Any) -> bool:
    """``order`` has the order's status and times (a model or a row). A step applies while the
    order has not reached what the step waits for."""
    if until is Until.CLOSED:
        return order.status == "resolved"
    if order.status not in _ACTIVE:
        return False  # resolved, closed, cancelled, missed: no other step applies
    if until is Until.RESOLVED:
        return order.resolved_at is None
    if order.arrived_at is not None:
        return False  # someone is on site: the steps before that are moot
    if until is Until.ACKNOWLEDGED:
        return order.acknowledged_at is None and order.dispatched_at is None
    if until is Until.DISPATCHED:
        return order.dispatched_at is None
    if until is Until.ACCEPTED:
        return order.accepted_at is None
    return True  # Until.ON_SITE: nobody has arrived


def position(order_kind: str, order: Any, now: datetime) -> tuple[tuple[Step, datetime] | None,
                                                                  tuple[Step, datetime] | None]:
    """Where an order stands on its ladder at ``now``: the last step reached that still applies,
    and the next one to come. Steps that act (automatic dispatch) are not shown."""
    current = upcoming = None
    for step, planned in plan(order_kind, order.opened_at, order.priority):
        due = getattr(order, step.due_field, None) if step.due_field else planned
        if due is None or step.action is not None or not still_applies(step.until, order):
            continue
        if due <= now:
            current = (step, due)
        elif upcoming is None:
            upcoming = (step, due)
    return current, upcoming
