"""Orders: list, detail, and the actions people take on them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from gateway.api.deps import NowDep, RuntimeDep, SessionDep
from gateway.domain.orders import Action, IllegalTransition
from gateway.services.order_actions import OrderNotFound, act
from gateway.storage import crud
from gateway.views import order_json, timeline_json

router = APIRouter(prefix="/api/orders", tags=["orders"])


class ActionBody(BaseModel):
    by: str = Field(min_length=1, max_length=128, description="who did it")
    note: str | None = Field(default=None, max_length=2000)
    technician: str | None = Field(default=None, max_length=128, description="dispatch: who is sent")
    reason: str | None = Field(default=None, max_length=500, description="cancel, reject: why")


@router.get("")
def list_orders(
    session: SessionDep,
    now: NowDep,
    status: Annotated[list[str] | None, Query()] = None,
    kind: Annotated[list[str] | None, Query()] = None,
    active: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    orders = crud.list_orders(session, statuses=status or (), kinds=kind or (), active=active, limit=limit)
    return [order_json(o, now) for o in orders]


@router.get("/{order_id}")
def get_order(order_id: int, session: SessionDep, now: NowDep) -> dict[str, Any]:
    order = crud.get_order(session, order_id=order_id)
    if order is None or order.id is None:
        raise HTTPException(404, f"order {order_id} not found")
    out = order_json(order, now)
    out["timeline"] = timeline_json(list(crud.timeline_for(session, order_id=order.id)))
    return out


@router.post("/{order_id}/{action}")
def act_on_order(
    order_id: int, action: Action, body: ActionBody, session: SessionDep, now: NowDep, runtime: RuntimeDep
) -> dict[str, Any]:
    try:
        order = act(
            session, order_id=order_id, action=action, actor=body.by.strip(), now=now,
            note=body.note, technician=body.technician, reason=body.reason,
        )
    except OrderNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except IllegalTransition as exc:
        raise HTTPException(409, exc.reason) from exc
    session.commit()
    out = order_json(order, now)
    runtime.broadcast("updated", out)
    return out
