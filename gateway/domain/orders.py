"""Order states and the transitions between them, as data.

Two lifecycles (DESIGN.md, "Order life"): emergencies and service tickets (repair,
maintenance). ``apply_action`` is pure: it takes the order's current facts and ``now`` and
answers the new facts, or raises ``IllegalTransition`` with a reason a person can read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Category(StrEnum):
    EMERGENCY = "emergency"
    REPAIR = "repair"
    MAINTENANCE = "maintenance"
    WELLBEING = "wellbeing"  # a check on a resident (no activity): someone goes round
    REQUEST = "request"  # a resident's own request (居民点单): repair, mediation, care, cleaning, ...
    CARE = "care"  # a visit or activity of a care plan (银龄关爱), due on a date


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


class Status(StrEnum):
    # emergency
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    # tickets
    NEW = "new"
    # shared
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    EN_ROUTE = "en_route"  # "on my way"
    ON_SITE = "on_site"
    THIRD_PARTY = "third_party"  # waiting for a specialist or third party (需要第三方); the clock runs on
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    MISSED = "missed"  # a care visit that did not happen (with a reason)


class Action(StrEnum):
    ACK = "ack"
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    REJECT = "reject"
    DEPART = "depart"  # on my way
    ARRIVE = "arrive"
    RESOLVE = "resolve"
    CLOSE = "close"
    CANCEL = "cancel"
    THIRD_PARTY = "third_party"  # hand to a named third party; the order stays open, its clock running
    RESUME = "resume"  # the third party is done: back to the technician on site
    CONFIRM = "confirm"  # the resident confirms a resolved request (with a rating)
    REOPEN = "reopen"  # the resident says it is not fixed (with a reason)
    MISS = "miss"  # a care visit did not happen (with a reason)


# Statuses in which an order still holds its device's open-alarm key: repeats of the same
# alarm are counted on it instead of opening another order.
ACTIVE_STATUSES: frozenset[Status] = frozenset(
    {Status.OPEN, Status.ACKNOWLEDGED, Status.NEW, Status.DISPATCHED, Status.ACCEPTED, Status.EN_ROUTE,
     Status.ON_SITE, Status.THIRD_PARTY}
)
FINAL_STATUSES: frozenset[Status] = frozenset({Status.CLOSED, Status.CANCELLED, Status.MISSED})


@dataclass(frozen=True, slots=True)
class Transition:
    sources: frozenset[Status]
    target: Status | None  # None: the action is refused for this category (see ``refusal``)
    refusal: str = ""
    needs_reason: bool = False
    needs_technician: bool = False


def _t(sources: set[Status], target: Status, **kw: bool) -> Transition:
    return Transition(frozenset(sources), target, **kw)  # type: ignore[arg-type]


_OPEN_EMERGENCY = {Status.OPEN, Status.ACKNOWLEDGED, Status.DISPATCHED, Status.ACCEPTED, Status.EN_ROUTE,
                   Status.ON_SITE}
_OPEN_TICKET = {Status.NEW, Status.DISPATCHED, Status.ACCEPTED, Status.EN_ROUTE, Status.ON_SITE}
_SENT = {Status.DISPATCHED, Status.ACCEPTED}  # someone is assigned and has not set off
_ASSIGNED = _SENT | {Status.EN_ROUTE}  # ... or is on the way (and may still have to turn back)

EMERGENCY_TRANSITIONS: dict[Action, Transition] = {
    Action.ACK: _t({Status.OPEN}, Status.ACKNOWLEDGED),
    # Dispatching an unacknowledged alarm acknowledges it too; re-dispatch is allowed until
    # someone has set off.
    Action.DISPATCH: _t({Status.OPEN, Status.ACKNOWLEDGED} | _ASSIGNED, Status.DISPATCHED, needs_technician=True),
    Action.ACCEPT: _t({Status.DISPATCHED}, Status.ACCEPTED),
    # The one sent cannot go: back to the dispatcher, still acknowledged; the ladder runs on.
    Action.REJECT: _t(_ASSIGNED, Status.ACKNOWLEDGED, needs_reason=True),
    Action.DEPART: _t(_SENT, Status.EN_ROUTE),
    # A key-holding neighbour or the on-call staff may arrive without a dispatch.
    Action.ARRIVE: _t({Status.ACKNOWLEDGED, Status.EN_ROUTE} | _SENT, Status.ON_SITE),
    Action.RESOLVE: _t({Status.ON_SITE}, Status.RESOLVED),
    Action.CLOSE: _t({Status.RESOLVED}, Status.CLOSED),
    Action.CANCEL: _t(_OPEN_EMERGENCY, Status.CANCELLED, needs_reason=True),
}

TICKET_TRANSITIONS: dict[Action, Transition] = {
    Action.ACK: Transition(frozenset(), None, "service tickets are not acknowledged; dispatch them"),
    Action.DISPATCH: _t({Status.NEW} | _ASSIGNED, Status.DISPATCHED, needs_technician=True),
    Action.ACCEPT: _t({Status.DISPATCHED}, Status.ACCEPTED),
    Action.REJECT: _t(_ASSIGNED, Status.NEW, needs_reason=True),
    # Setting off or arriving straight from "dispatched" accepts the job on the way.
    Action.DEPART: _t(_SENT, Status.EN_ROUTE),
    Action.ARRIVE: _t(_SENT | {Status.EN_ROUTE}, Status.ON_SITE),
    Action.RESOLVE: _t({Status.ON_SITE}, Status.RESOLVED),
    Action.CLOSE: _t({Status.RESOLVED}, Status.CLOSED),
    Action.CANCEL: _t(_OPEN_TICKET, Status.CANCELLED, needs_reason=True),
}

_REFUSED = {a: Transition(frozenset(), None, f"{a.value} does not apply to this kind of order")
            for a in (Action.THIRD_PARTY, Action.RESUME, Action.CONFIRM, Action.REOPEN, Action.MISS)}
EMERGENCY_TRANSITIONS.update(_REFUSED)
TICKET_TRANSITIONS.update(_REFUSED)

# Residents' requests: a ticket that may wait for a third party, and that the resident confirms
# (closing it, with a rating) or reopens once resolved.
REQUEST_TRANSITIONS: dict[Action, Transition] = {
    **TICKET_TRANSITIONS,
    Action.THIRD_PARTY: _t({Status.ACCEPTED, Status.EN_ROUTE, Status.ON_SITE}, Status.THIRD_PARTY,
                           needs_reason=True),  # the reason names the party
    Action.RESUME: _t({Status.THIRD_PARTY}, Status.ON_SITE),
    Action.RESOLVE: _t({Status.ON_SITE, Status.THIRD_PARTY}, Status.RESOLVED),
    Action.CONFIRM: _t({Status.RESOLVED}, Status.CLOSED),
    Action.REOPEN: _t({Status.RESOLVED}, Status.NEW, needs_reason=True),
    Action.CANCEL: _t(_OPEN_TICKET | {Status.THIRD_PARTY}, Status.CANCELLED, needs_reason=True),
    Action.MISS: Transition(frozenset(), None, "miss applies to care visits only"),
}

# Care visits: assigned when generated; done (resolve, with a note) or missed (with a reason).
CARE_TRANSITIONS: dict[Action, Transition] = {
    **TICKET_TRANSITIONS,
    Action.MISS: _t(_OPEN_TICKET, Status.MISSED, needs_reason=True),
}

TRANSITIONS: dict[Category, dict[Action, Transition]] = {
    Category.REQUEST: REQUEST_TRANSITIONS,
    Category.CARE: CARE_TRANSITIONS,
    Category.EMERGENCY: EMERGENCY_TRANSITIONS,
    Category.REPAIR: TICKET_TRANSITIONS,
    Category.MAINTENANCE: TICKET_TRANSITIONS,
    Category.WELLBEING: TICKET_TRANSITIONS,
}


def initial_status(category: Category) -> Status:
    return Status.OPEN if category is Category.EMERGENCY else Status.NEW


class IllegalTransition(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class OrderFacts:
    """The part of an order that actions change. Storage copies it in and out."""

    category: Category
    status: Status
    assignee: str | None = None
    acknowledged_at: datetime | None = None
    dispatched_at: datetime | None = None
    accepted_at: datetime | None = None
    departed_at: datetime | None = None
    arrived_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    facts: OrderFacts
    timeline_action: str
    timeline_data: dict[str, str] = field(default_factory=dict)
    implied: tuple[str, ...] = ()  # actions that happened on the way, e.g. ack by dispatch


def apply_action(
    facts: OrderFacts,
    action: Action,
    now: datetime,
    *,
    technician: str | None = None,
    reason: str | None = None,
) -> Outcome:
    rule = TRANSITIONS[facts.category][action]
    if rule.target is None:
        raise IllegalTransition(rule.refusal)
    if facts.status not in rule.sources:
        allowed = ", ".join(sorted(s.value for s in rule.sources))
        raise IllegalTransition(
            f"cannot {action.value} a {facts.category.value} order that is {facts.status.value}"
            f" (allowed from: {allowed})"
        )
    reason = (reason or "").strip() or None
    technician = (technician or "").strip() or None
    if rule.needs_reason and not reason:
        raise IllegalTransition(f"{action.value} needs a reason")
    if rule.needs_technician and not technician:
        raise IllegalTransition("dispatch needs a technician")

    new = OrderFacts(**{name: getattr(facts, name) for name in OrderFacts.__slots__})  # type: ignore[attr-defined]
    new.status = rule.target
    data: dict[str, str] = {"from": facts.status.value, "to": rule.target.value}
    implied: list[str] = []
    match action:
        case Action.ACK:
            new.acknowledged_at = now
        case Action.DISPATCH:
            if facts.category is Category.EMERGENCY and new.acknowledged_at is None:
                new.acknowledged_at = now
                implied.append(Action.ACK.value)
            new.assignee = technician
            new.dispatched_at = now
            new.accepted_at = None
            new.departed_at = None
            data["technician"] = technician or ""
            if facts.assignee and facts.assignee != technician:
                data["replaces"] = facts.assignee
        case Action.ACCEPT:
            new.accepted_at = now
        case Action.REJECT:
            data["technician"] = facts.assignee or ""
            data["reason"] = reason or ""
            new.assignee = None
            new.dispatched_at = None
            new.accepted_at = None
            new.departed_at = None
        case Action.DEPART:
            if facts.status is Status.DISPATCHED:
                new.accepted_at = now
                implied.append(Action.ACCEPT.value)
            new.departed_at = now
        case Action.ARRIVE:
            if facts.status is Status.DISPATCHED and facts.assignee:
                new.accepted_at = now
                implied.append(Action.ACCEPT.value)
            new.arrived_at = now
        case Action.RESOLVE:
            new.resolved_at = now
        case Action.CLOSE:
            new.closed_at = now
        case Action.CANCEL:
            new.cancelled_at = now
            new.cancel_reason = reason
            data["reason"] = reason or ""
        case Action.THIRD_PARTY:
            data["party"] = reason or ""
        case Action.RESUME:
            if new.arrived_at is None:  # handed over before arriving: the work goes on at the home now
                new.arrived_at = now
        case Action.CONFIRM:
            new.closed_at = now
        case Action.REOPEN:
            data["reason"] = reason or ""
            new.assignee = None
            for name in ("dispatched_at", "accepted_at", "departed_at", "arrived_at", "resolved_at"):
                setattr(new, name, None)
        case Action.MISS:
            new.closed_at = now
            data["reason"] = reason or ""
    return Outcome(facts=new, timeline_action=action.value, timeline_data=data, implied=tuple(implied))
