"""Dispatch (派单): proposals, sending someone, and dispatching by itself where switched on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session

from gateway.domain.dispatch import RULES, Candidate, DispatchRule, Proposal, Skill, propose
from gateway.domain.orders import Action, IllegalTransition, Status
from gateway.domain.roles import Role
from gateway.services.order_actions import OrderNotFound, act
from gateway.storage import accounts, crud
from gateway.storage import dispatch as store
from gateway.storage.models import Order

AUTO_ACTOR = "shewu:auto-dispatch"
# Who may be sent: those who can then accept, set off, arrive and resolve (ORDERS_WORK).
SENDABLE = frozenset({Role.TECHNICIAN, Role.DISPATCHER, Role.ADMIN, Role.GRID_WORKER})
AWAITING_DISPATCH = frozenset({Status.OPEN.value, Status.ACKNOWLEDGED.value, Status.NEW.value})

# Called after a dispatch is flushed, in the same transaction: (session, order, now) → None.
# The notification outbox hooks in here, so an assignment and its notice commit together.
OnAssigned = Callable[[Session, Order, datetime], None]


def rule_for(session: Session, *, kind: str) -> DispatchRule | None:
    row = store.get_setting(session, kind=kind)
    if row is not None:
        return DispatchRule(Skill(row.skill), auto=row.auto)
    return RULES.get(kind)


def candidates(session: Session) -> list[Candidate]:
    load = store.loads(session)
    return [
        Candidate(name=u.name, skills=frozenset(u.skills or ()), status=u.status, grid=u.grid,
                  building=u.building, load=load.get(u.name, 0))
        for u in store.technicians(session)
    ]


def proposals(session: Session, *, order: Order) -> list[Proposal]:
    rule = rule_for(session, kind=order.kind)
    if rule is None or order.id is None:
        return []
    return propose(candidates(session), skill=rule.skill.value, grid=order.grid, address=order.address,
                   exclude=store.rejected_by(session, order_id=order.id))


def dispatch(session: Session, *, order_id: int, technician: str, actor: str, now: datetime,
             note: str | None = None, on_assigned: OnAssigned | None = None) -> Order:
    """Send ``technician``: a known, active user who can be sent. Raises IllegalTransition."""
    user = accounts.get_user(session, name=technician.strip())
    if user is None or not user.active:
        raise IllegalTransition(f"no active user {technician!r} to dispatch")
    if user.role not in SENDABLE:
        raise IllegalTransition(f"a {user.role} cannot be dispatched")
    order = act(session, order_id=order_id, action=Action.DISPATCH, actor=actor, now=now, note=note,
                technician=user.name)
    if on_assigned is not None:
        on_assigned(session, order, now)
    return order


def auto_dispatch(session: Session, *, order_id: int, now: datetime,
                  on_assigned: OnAssigned | None = None) -> dict[str, Any] | None:
    """The scheduler's ``auto_dispatch`` step: if the order's kind is switched to automatic and
    nobody has been sent, send the best candidate. Answers what happened (for the timeline), or
    None when automatic dispatch is off for the kind."""
    order = crud.get_order(session, order_id=order_id, for_update=True)
    if order is None or order.dispatched_at is not None or order.status not in AWAITING_DISPATCH:
        return None  # someone was sent meanwhile (or it is over): never override a person's choice
    rule = rule_for(session, kind=order.kind)
    if rule is None or not rule.auto:
        return None
    ranked = proposals(session, order=order)
    if not ranked:
        crud.add_timeline(session, order_id=order_id, at=now, actor=AUTO_ACTOR, action="auto_dispatch_failed",
                          note=f"no technician with skill {rule.skill.value} is on duty",
                          data={"skill": rule.skill.value})
        return {"dispatched": None}
    best = ranked[0]
    try:
        dispatch(session, order_id=order_id, technician=best.name, actor=AUTO_ACTOR, now=now,
                 note=f"proposed: {best.nearness}, load {best.load}", on_assigned=on_assigned)
    except (IllegalTransition, OrderNotFound):
        return None  # dispatched by a person meanwhile, or closed
    return {"dispatched": best.name}


def redispatch_after_reject(session: Session, *, order: Order, now: datetime) -> bool:
    """A rejection puts the order back for dispatch; where dispatch is automatic, a new
    ``auto_dispatch`` timer (due now) sends the next best candidate, excluding who rejected."""
    rule = rule_for(session, kind=order.kind)
    if rule is None or not rule.auto or order.id is None:
        return False
    crud.add_escalation_steps(session, rows=[{"order_id": order.id, "order_kind": order.kind,
                                              "step": "auto_dispatch", "due_at": now}])
    return True
