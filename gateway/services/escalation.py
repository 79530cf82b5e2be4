"""Escalation: plan an order's ladder when it opens; fire the steps that fall due."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from gateway.domain.ladders import STEPS_BY_NAME, Step, plan, still_applies
from gateway.services.dispatch import OnAssigned, auto_dispatch, rule_for
from gateway.services.requests import auto_close
from gateway.storage import crud
from gateway.storage.models import Order

# Steps that act rather than tell (other than automatic dispatch, which runs first).
ACTIONS: dict[str, Callable[..., Order | None]] = {"auto_close": auto_close}

# Called with the steps fired in one poll, in the scheduler's transaction (the notification
# outbox): (session, [(order, step), ...], now) → None.
OnStep = Callable[[Session, list[tuple[Any, Step]], datetime], None]


def ladder_rows(order_id: int, order_kind: str, opened_at: datetime, priority: str | None = None
                ) -> list[dict[str, Any]]:
    return [
        {"order_id": order_id, "order_kind": order_kind, "step": step.name, "due_at": due}
        for step, due in plan(order_kind, opened_at, priority)
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
    whatever the number of steps (plus the dispatches of automatic dispatch).

    Automatic dispatch runs first, so that a step waiting for a dispatch that has just
    happened is found void rather than sent."""
    due = crud.due_escalation_steps(session, now=now, limit=limit)
    auto = [d for d in due if (step := STEPS_BY_NAME.get((d.order_kind, d.step))) and step.action == "auto_dispatch"]
    fired = _auto_dispatch(session, auto, now=now, instance=instance, on_assigned=on_assigned)
    rest = [d for d in due if d not in auto]
    orders = {row.id: row for row in crud.order_rows(session, ids={d.order_id for d in rest})}
    applying: dict[int, tuple[Any, Step]] = {}
    void: list[int] = []
    for d in rest:
        step = STEPS_BY_NAME.get((d.order_kind, d.step))
        order = orders.get(d.order_id)
        if step is not None and order is not None and still_applies(step.until, order):
            applying[d.id] = (d, step)
        else:
            void.append(d.id)
    crud.finish_escalation_steps(session, ids=void, status="void", at=now, by=instance)
    taken = crud.finish_escalation_steps(session, ids=list(applying), status="fired", at=now, by=instance)
    timeline: list[dict[str, Any]] = []
    told: list[tuple[Any, Step]] = []
    for step_id, (d, step) in applying.items():
        if step_id not in taken:
            continue  # another scheduler fired it
        late = (now - d.due_at).total_seconds()
        if step.action is not None:  # a step that acts: its own timeline entries, no notice
            changed = ACTIONS[step.action](session, order_id=d.order_id, now=now)
            if changed is not None:
                fired.append(Fired(d.order_id, step.name, (), late, False, order=changed))
            continue
        audience = tuple(a.value for a in step.audience)
        told.append((orders[d.order_id], step))
        timeline.append({
            "order_id": d.order_id, "at": now, "actor": "shewu:escalation", "action": "escalation", "note": None,
            "data": {"step": step.name, "audience": list(audience), "due_at": d.due_at.isoformat(),
                     "late_s": round(late, 3), "breach": step.breach},
        })
        fired.append(Fired(d.order_id, step.name, audience, late, step.breach))
    crud.append_timeline_rows(session, rows=timeline)
    if on_step is not None:
        on_step(session, told, now)
    return fired, len(due)


def _auto_dispatch(session: Session, due: list[Any], *, now: datetime, instance: str,
                   on_assigned: OnAssigned | None) -> list[Fired]:
    """The due ``auto_dispatch`` timers: void where automatic dispatch is off for the kind (read
    once per kind), else taken and run."""
    enabled: dict[str, bool] = {}
    for d in due:
        if d.order_kind not in enabled:
            rule = rule_for(session, kind=d.order_kind)
            enabled[d.order_kind] = rule is not None and rule.auto
    crud.finish_escalation_steps(session, ids=[d.id for d in due if not enabled[d.order_kind]], status="void",
                                 at=now, by=instance)
    run = [d for d in due if enabled[d.order_kind]]
    taken = crud.finish_escalation_steps(session, ids=[d.id for d in run], status="fired", at=now, by=instance)
    fired: list[Fired] = []
    for d in run:
        if d.id in taken and auto_dispatch(session, order_id=d.order_id, now=now, on_assigned=on_assigned):
            fired.append(Fired(d.order_id, "auto_dispatch", (), (now - d.due_at).total_seconds(), False,
                               order=crud.get_order(session, order_id=d.order_id)))
    return fired
