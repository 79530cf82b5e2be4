"""Orders: list, detail, the actions people take on them, and dispatch proposals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from gateway.api.deps import Allowed, NowDep, RuntimeDep, SessionDep, ZoneDep
from gateway.api.schemas import orders as schemas
from gateway.api.schemas.base import ExactRoute
from gateway.domain.orders import Action, IllegalTransition
from gateway.domain.roles import Perm, Role, allowed
from gateway.services.accounts import Principal
from gateway.services.dispatch import dispatch, proposals, redispatch_after_reject
from gateway.services.order_actions import OrderNotFound, act
from gateway.services.requests import after_action
from gateway.storage import crud
from gateway.storage.models import Order
from gateway.views import order_json, timeline_json

router = APIRouter(prefix="/api/orders", tags=["orders"], route_class=ExactRoute)

Reader = Annotated[Principal, Depends(Allowed(Perm.ORDERS_READ))]

# Which permission each action needs. ORDERS_WORK is held by technicians for their own orders.
ACTION_PERMS: dict[Action, Perm] = {
    Action.ACK: Perm.ORDERS_ACK,
    Action.CANCEL: Perm.ORDERS_ACK,
    Action.CLOSE: Perm.ORDERS_DISPATCH,
    Action.DISPATCH: Perm.ORDERS_DISPATCH,
    Action.ACCEPT: Perm.ORDERS_WORK,
    Action.REJECT: Perm.ORDERS_WORK,
    Action.DEPART: Perm.ORDERS_WORK,
    Action.ARRIVE: Perm.ORDERS_WORK,
    Action.RESOLVE: Perm.ORDERS_WORK,
    Action.THIRD_PARTY: Perm.ORDERS_WORK,
    Action.RESUME: Perm.ORDERS_WORK,
    Action.MISS: Perm.ORDERS_WORK,
    Action.CONFIRM: Perm.REQUESTS_CONFIRM,
    Action.REOPEN: Perm.REQUESTS_CONFIRM,
}
# Roles that work only the orders assigned to them.
OWN_WORK = frozenset({Role.TECHNICIAN, Role.GRID_WORKER})


class ActionBody(BaseModel):
    note: str | None = Field(default=None, max_length=2000)
    technician: str | None = Field(default=None, max_length=64, description="dispatch: the user sent")
    reason: str | None = Field(default=None, max_length=500, description="cancel, reject: why")


def scope(principal: Principal) -> dict[str, str]:
    """The part of the orders a principal sees: technicians their own, grid workers their grid's."""
    if principal.role is Role.TECHNICIAN:
        return {"assignee": principal.name}
    if principal.role is Role.GRID_WORKER:
        if not principal.grid:
            raise HTTPException(403, "no grid is assigned to you; ask an admin")
        return {"grid": principal.grid}
    return {}


def in_scope(principal: Principal, order: Order) -> bool:
    return all(getattr(order, field) == value for field, value in scope(principal).items())


@router.get("", response_model=list[schemas.Order])
def list_orders(
    session: SessionDep,
    now: NowDep,
    principal: Reader,
    status: Annotated[list[str] | None, Query()] = None,
    kind: Annotated[list[str] | None, Query()] = None,
    active: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    orders = crud.list_orders(session, statuses=status or (), kinds=kind or (), active=active, limit=limit,
                              **scope(principal))
    return [order_json(o, now) for o in orders]


def visible_order(session: Any, order_id: int, principal: Principal) -> Order:
    order = crud.get_order(session, order_id=order_id)
    if order is None or order.id is None:
        raise HTTPException(404, f"order {order_id} not found")
    if not in_scope(principal, order):
        raise HTTPException(403, f"order {order_id} is not assigned to you")
    return order


@router.get("/{order_id}", response_model=schemas.OrderDetail)
def get_order(order_id: int, session: SessionDep, now: NowDep, principal: Reader) -> dict[str, Any]:
    order = visible_order(session, order_id, principal)
    out = order_json(order, now)
    out["timeline"] = timeline_json(list(crud.timeline_for(session, order_id=order_id)))
    return out


@router.get("/{order_id}/proposals", response_model=list[schemas.Proposal])
def dispatch_proposals(order_id: int, session: SessionDep, principal: Reader) -> list[dict[str, Any]]:
    """Technicians Shewu would send, best first: the skill, not off duty, least loaded, nearest."""
    if not allowed(principal.role, Perm.ORDERS_DISPATCH):
        raise HTTPException(403, f"role {principal.role.value} may not dispatch orders")
    order = visible_order(session, order_id, principal)
    return [{"name": p.name, "status": p.status, "load": p.load, "nearness": p.nearness}
            for p in proposals(session, order=order)]


@router.post("/{order_id}/{action}", response_model=schemas.Order)
def act_on_order(
    order_id: int, action: Action, body: ActionBody, session: SessionDep, now: NowDep, runtime: RuntimeDep,
    principal: Reader, tz: ZoneDep,
) -> dict[str, Any]:
    perm = ACTION_PERMS[action]
    if not allowed(principal.role, perm):
        raise HTTPException(403, f"role {principal.role.value} may not {action.value} orders")
    current = visible_order(session, order_id, principal)
    if perm is Perm.ORDERS_WORK and principal.role in OWN_WORK and current.assignee != principal.name:
        raise HTTPException(403, f"order {order_id} is not assigned to you")
    try:
        if action is Action.DISPATCH:
            order = dispatch(session, order_id=order_id, technician=body.technician or "", actor=principal.actor,
                             now=now, note=body.note, on_assigned=runtime.on_assigned)
        else:
            order = act(session, order_id=order_id, action=action, actor=principal.actor, now=now,
                        note=body.note, reason=body.reason)
        if action is Action.REJECT:
            redispatch_after_reject(session, order=order, now=now)
        after_action(session, order=order, action=action, now=now, tz=tz)
    except OrderNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except IllegalTransition as exc:
        raise HTTPException(409, exc.reason) from exc
    session.commit()
    runtime.wake_notify()
    out = order_json(order, now)
    runtime.broadcast("updated", out)
    return out
