"""Escalation: plan an order's ladder when it opens; fire the steps that fall due."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from gateway.domain.ladders import STEPS_BY_NAME, Step, plan, still_applies
from gateway.services.dispatch import OnAssigned, auto_dispatch, rule_for
from gateway.storage import crud
from gateway.storage.models import Order

# Called for each step fired, in the scheduler's transaction (the notification outbox):
# (session, order, step, now) → None.
OnStep = Callable[[Session, Any, Step, datetime], None]


def ladder_rows(order_id: int, order_kind: str, opened_at: datetime) -> list[dict[str, Any]]:
    return [
        {"order_id": order_id, "order_kind": order_kind, "step": step.name, "due_at": due}
        for step, due in plan(order_kind, opened_at)
    ]


@dataclass(frozen=True, slots=True)
class Fired:
    order_id: int
    step: str
    audience: tuple[str, ...]
    late_s: float  # how long after its due time the step fired (the scheduler's lag)
    breach: bool
    order: Order | None = None  # set when the step changed the order (auto-dispatch)


def fire_due(session: Session, *, now: datetime, instance: str, limit: int = 200, on_step: OnStep | None = None,
             on_assigned: OnAssigned | None = None) -> tuple[list[Fired], int]:
    """Take up to ``limit`` steps due by ``now``: fire those that still apply (timeline entry),
    void the rest. Answers what fired and how many steps were due. The caller commits; a step
    is fired exactly once across restarts and instances. A handful of statements per poll,
    whatever the number of steps."""
    due = crud.due_escalation_steps(session, now=now, limit=limit)
    orders = {row.id: row for row in crud.order_rows(session, ids={d.order_id for d in due})}
    applying: dict[int, tuple[Any, Step]] = {}
    void: list[int] = []
    auto: dict[str, bool] = {}  # per kind, read once per poll
    for d in due:
        step = STEPS_BY_NAME.get((d.order_kind, d.step))
        order = orders.get(d.order_id)
        if step is not None and step.action == "auto_dispatch" and d.order_kind not in auto:
            rule = rule_for(session, kind=d.order_kind)
            auto[d.order_kind] = rule is not None and rule.auto
        if step is not None and step.action == "auto_dispatch" and not auto[d.order_kind]:
            void.append(d.id)  # automatic dispatch is off for this kind
        elif step is not None and order is not None and still_applies(step.until, order):
            applying[d.id] = (d, step)
        else:
            void.append(d.id)
    crud.finish_escalation_steps(session, ids=void, status="void", at=now, by=instance)
    taken = crud.finish_escalation_steps(session, ids=list(applying), status="fired", at=now, by=instance)
    fired: list[Fired] = []
    timeline: list[dict[str, Any]] = []
    for step_id, (d, step) in applying.items():
        if step_id not in taken:
            continue  # another scheduler fired it
        late = (now - d.due_at).total_seconds()
        if step.action == "auto_dispatch":
            if auto_dispatch(session, order_id=d.order_id, now=now, on_assigned=on_assigned) is not None:
                fired.append(Fired(d.order_id, step.name, (), late, False,
                                   order=crud.get_order(session, order_id=d.order_id)))
            continue
        audience = tuple(a.value for a in step.audience)
        if on_step is not None:
            on_step(session, orders[d.order_id], step, now)
        timeline.append({
            "order_id": d.order_id, "at": now, "actor": "shewu:escalation", "action": "escalation", "note": None,
            "data": {"step": step.name, "audience": list(audience), "due_at": d.due_at.isoformat(),
                     "late_s": round(late, 3), "breach": step.breach},
        })
        fired.append(Fired(d.order_id, step.name, audience, late, step.breach))
    crud.append_timeline_rows(session, rows=timeline)
    return fired, len(due)
