"""People acting on orders: acknowledge, dispatch, arrive, resolve, cancel, ..."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from gateway.domain.orders import ACTIVE_STATUSES, Action, Category, IllegalTransition, OrderFacts, Status, apply_action
from gateway.storage import crud
from gateway.storage.models import Order

_FACT_FIELDS = tuple(f for f in OrderFacts.__slots__ if f not in ("category", "status"))  # type: ignore[attr-defined]


class OrderNotFound(LookupError):
    pass


def act(
    session: Session,
    *,
    order_id: int,
    action: Action,
    actor: str,
    now: datetime,
    note: str | None = None,
    technician: str | None = None,
    reason: str | None = None,
) -> Order:
    """Apply one action and append it to the timeline. Raises OrderNotFound or IllegalTransition."""
    order = crud.get_order(session, order_id=order_id, for_update=True)
    if order is None or order.id is None:
        raise OrderNotFound(f"order {order_id} not found")
    facts = OrderFacts(
        category=Category(order.category),
        status=Status(order.status),
        **{name: getattr(order, name) for name in _FACT_FIELDS},
    )
    outcome = apply_action(facts, action, now, technician=technician, reason=reason)
    for name in _FACT_FIELDS:
        setattr(order, name, getattr(outcome.facts, name))
    order.status = outcome.facts.status.value
    if outcome.facts.status not in ACTIVE_STATUSES:
        order.open_key = None  # the next alarm from this device opens a new order
    session.add(order)
    for implied in outcome.implied:
        crud.add_timeline(session, order_id=order.id, at=now, actor=actor, action=implied,
                          data={"implied_by": action.value})
    crud.add_timeline(session, order_id=order.id, at=now, actor=actor, action=outcome.timeline_action,
                      note=note, data=outcome.timeline_data)
    session.flush()
    return order


__all__ = ["IllegalTransition", "OrderNotFound", "act"]
