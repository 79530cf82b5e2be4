"""Residents' requests (居民点单 → 社区派单 → 物业接单 → 闭环): filing, linking repeats,
the targets and their ladder, confirmation with a rating, reopening, and closing unconfirmed
requests after 72 hours.

Every filing is kept (``service_requests``) and answered. A request repeating an open one of
the same home and category is linked to that order (counted on it, noted on its timeline)
rather than opened again, and the resident is told which order it joined.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from gateway.domain.orders import Action, Category, Priority
from gateway.domain.requests import CATEGORIES, CONFIRM_WITHIN, due_times
from gateway.services.opening import Due, open_order
from gateway.services.order_actions import act
from gateway.storage import crud
from gateway.storage.models import Home, Order, ServiceRequest

ACTOR_AUTO_CLOSE = "shewu:auto-close"
_STEPS = (("accept_overdue", "accept"), ("onsite_at_risk", "at_risk"), ("onsite_breached", "onsite"),
          ("resolve_overdue", "resolve"))


class RequestError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Filed:
    request: ServiceRequest
    order: Any  # the order row handling it
    linked: bool


def _steps(due: Any) -> list[tuple[str, datetime]]:
    return [(name, getattr(due, field)) for name, field in _STEPS]


def file_request(session: Session, *, home: Home, category: str, description: str, filed_by: str,
                 on_behalf: bool, now: datetime, tz: ZoneInfo, preferred_time: str = "",
                 photo: str | None = None) -> Filed:
    kind = CATEGORIES.get(category)
    if kind is None:
        raise RequestError(f"unknown category {category!r}; one of: {', '.join(CATEGORIES)}")
    if not description.strip():
        raise RequestError("say what is needed (description)")
    due = due_times(kind, now, tz)
    order, opened = open_order(
        session, kind=kind.code, category=Category.REQUEST, priority=Priority.P3, now=now,
        due=Due(ack=due.accept, onsite=due.onsite, at_risk=due.at_risk, resolve=due.resolve), home=home,
        open_key=f"request|{home.home_id}|{kind.code}", actor=filed_by, note=description.strip()[:2000],
        steps=_steps(due), data={"category": kind.code, "team": kind.team, "preferred_time": preferred_time,
                                 "on_behalf": on_behalf, **({"photo": photo} if photo else {})},
    )
    if opened:
        answer = (f"已受理，工单 #{order.id}，{kind.zh}，我们会尽快联系您。"
                  f" / Received as order #{order.id} ({kind.en}); we will be in touch soon.")
    else:
        crud.count_repeat_on_open_order(session, open_key=f"request|{home.home_id}|{kind.code}", at=now)
        crud.add_timeline(session, order_id=order.id, at=now, actor=filed_by, action="linked_request",
                          note=description.strip()[:2000], data={"preferred_time": preferred_time})
        answer = (f"您家已有一张同类工单 #{order.id} 正在处理，本次请求已并入该工单。"
                  f" / Your home already has an open {kind.en} order #{order.id}; this request was added to it.")
    request = ServiceRequest(order_id=order.id, linked=not opened, home_id=home.home_id, category=kind.code,
                             description=description.strip()[:2000], preferred_time=preferred_time[:64],
                             photo=photo, filed_by=filed_by, on_behalf=on_behalf, filed_at=now, answer=answer)
    session.add(request)
    session.flush()
    return Filed(request=request, order=order, linked=not opened)


def after_action(session: Session, *, order: Order, action: Action, now: datetime, tz: ZoneInfo) -> None:
    """The timers a request's actions start: on "resolved", the 72-hour wait for the resident's
    confirmation; on "reopened", new targets from now."""
    if order.category != Category.REQUEST.value or order.id is None:
        return
    if action is Action.RESOLVE:
        crud.add_escalation_steps(session, rows=[{"order_id": order.id, "order_kind": order.kind,
                                                  "step": "auto_close", "due_at": now + CONFIRM_WITHIN}])
    elif action is Action.REOPEN:
        key = f"request|{order.home_id}|{order.kind}"
        if crud.active_order_id(session, open_key=key) is None:
            order.open_key = key  # repeats join the reopened order again
        due = due_times(CATEGORIES[order.kind], now, tz)
        order.ack_due_at, order.onsite_due_at, order.at_risk_at, order.resolve_due_at = \
            due.accept, due.onsite, due.at_risk, due.resolve
        session.add(order)
        crud.add_escalation_steps(session, rows=[{"order_id": order.id, "order_kind": order.kind, "step": name,
                                                  "due_at": at} for name, at in _steps(due)])
        session.flush()


def confirm(session: Session, *, order_id: int, rating: int, comment: str | None, actor: str,
            now: datetime) -> Order:
    """The resident (or their grid worker) confirms a resolved request and rates it 1 to 5."""
    if not 1 <= rating <= 5:
        raise RequestError("a rating is 1 to 5")
    order = act(session, order_id=order_id, action=Action.CONFIRM, actor=actor, now=now, note=comment)
    first = session.exec(select(ServiceRequest).where(ServiceRequest.order_id == order_id)
                         .order_by(col(ServiceRequest.id))).first()
    if first is not None:
        first.rating, first.rating_comment = rating, comment
        session.add(first)
    crud.add_timeline(session, order_id=order_id, at=now, actor=actor, action="rated", note=comment,
                      data={"rating": rating})
    session.flush()
    return order


def auto_close(session: Session, *, order_id: int, now: datetime) -> Order | None:
    """The ``auto_close`` timer: a request still resolved and unconfirmed after 72 hours is
    closed, and the timeline says it was not confirmed."""
    order = crud.get_order(session, order_id=order_id, for_update=True)
    if order is None or order.status != "resolved":
        return None
    return act(session, order_id=order_id, action=Action.CLOSE, actor=ACTOR_AUTO_CLOSE, now=now,
               note="closed without the resident's confirmation (72 h) / 72小时未确认，自动结单")


def requests_for(session: Session, *, home_ids: set[str] | None = None, filed_by: str | None = None,
                 grid: str | None = None, limit: int = 200) -> list[tuple[ServiceRequest, Order]]:
    q = select(ServiceRequest, Order).join(Order, col(Order.id) == ServiceRequest.order_id)
    if home_ids is not None:
        q = q.where(col(ServiceRequest.home_id).in_(sorted(home_ids)))
    if filed_by is not None:
        q = q.where(ServiceRequest.filed_by == filed_by)
    if grid is not None:
        q = q.where(Order.grid == grid)
    return list(session.exec(q.order_by(col(ServiceRequest.id).desc()).limit(limit)).all())
