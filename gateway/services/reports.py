"""Response reports: load the orders of a period and their timelines, hand them to
``gateway.domain.reports``; record a reviewer's reason for a breach.

Two statements per report, whatever the number of orders: the orders (with their assignee's
team), then the timeline entries reports read, for those same orders (a subquery, not a list
of ids).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from gateway.domain.reports import (
    BREACH_REASON_ACTION,
    BREACH_REASON_CODES,
    REPORT_ACTIONS,
    Entry,
    OrderIn,
    OrderTimes,
    Report,
    build_report,
    order_times,
)
from gateway.storage import crud
from gateway.storage.models import Order, TimelineEntry, User

_ORDERS = Order.__table__  # type: ignore[attr-defined]
_TIMELINE = TimelineEntry.__table__  # type: ignore[attr-defined]
_USERS = User.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Filters:
    period_from: datetime
    period_to: datetime  # exclusive
    kinds: Sequence[str] = ()
    categories: Sequence[str] = ()
    grids: Sequence[str] = ()


class NoBreach(Exception):
    """The order has no breach to give a reason for."""


class OrderNotFound(LookupError):
    pass


def _order_query(where: Sequence[Any]) -> Any:
    return (
        sa.select(
            _ORDERS.c.id, _ORDERS.c.kind, _ORDERS.c.category, _ORDERS.c.priority, _ORDERS.c.opened_at,
            _ORDERS.c.status, _ORDERS.c.grid, _ORDERS.c.assignee, _ORDERS.c.onsite_due_at, _ORDERS.c.cancelled_at,
            _ORDERS.c.cancel_reason, sa.func.coalesce(_USERS.c.team, "").label("team"),
        )
        .select_from(_ORDERS.outerjoin(_USERS, _USERS.c.name == _ORDERS.c.assignee))
        .where(*where)
    )


def _where(f: Filters) -> list[Any]:
    where: list[Any] = [_ORDERS.c.opened_at >= f.period_from, _ORDERS.c.opened_at < f.period_to]
    if f.kinds:
        where.append(_ORDERS.c.kind.in_(list(f.kinds)))
    if f.categories:
        where.append(_ORDERS.c.category.in_(list(f.categories)))
    if f.grids:
        where.append(_ORDERS.c.grid.in_(list(f.grids)))
    return where


def _order_in(row: Any) -> OrderIn:
    return OrderIn(id=row.id, kind=row.kind, category=row.category, priority=row.priority, opened_at=row.opened_at,
                   status=row.status, grid=row.grid or "", assignee=row.assignee, team=row.team or "",
                   onsite_due_at=row.onsite_due_at, cancelled_at=row.cancelled_at, cancel_reason=row.cancel_reason)


def timeline_entries(session: Session, order_ids: Any) -> list[Entry]:
    stmt = (
        sa.select(_TIMELINE.c.id, _TIMELINE.c.order_id, _TIMELINE.c.at, _TIMELINE.c.actor, _TIMELINE.c.action,
                  _TIMELINE.c.note, _TIMELINE.c.data)
        .where(_TIMELINE.c.order_id.in_(order_ids), _TIMELINE.c.action.in_(REPORT_ACTIONS))
        .order_by(_TIMELINE.c.order_id, _TIMELINE.c.at, _TIMELINE.c.id)
    )
    return [Entry(order_id=r.order_id, at=r.at, action=r.action, actor=r.actor, data=r.data, note=r.note, seq=r.id)
            for r in session.connection().execute(stmt)]


def response_report(session: Session, *, filters: Filters, now: datetime, tz: tzinfo) -> Report:
    where = _where(filters)
    orders = [_order_in(r) for r in session.connection().execute(_order_query(where))]
    ids = sa.select(_ORDERS.c.id).where(*where).scalar_subquery()
    entries = timeline_entries(session, ids) if orders else []
    return build_report(orders, entries, now=now, tz=tz, period_from=filters.period_from,
                        period_to=filters.period_to)


def order_report(session: Session, *, order_id: int, now: datetime, tz: tzinfo) -> OrderTimes:
    row = session.connection().execute(_order_query([_ORDERS.c.id == order_id])).first()
    if row is None:
        raise OrderNotFound(f"order {order_id} not found")
    return order_times(_order_in(row), timeline_entries(session, [order_id]), now=now, tz=tz)


def set_breach_reason(session: Session, *, order_id: int, reason: str, note: str | None, actor: str,
                      now: datetime, tz: tzinfo) -> OrderTimes:
    """Append a ``breach_reason`` entry to a breached order's timeline (the latest one wins), even
    if the order is closed. Raises ValueError (unknown reason), OrderNotFound, NoBreach."""
    if reason not in BREACH_REASON_CODES:
        raise ValueError(f"unknown reason {reason!r}; one of: {', '.join(sorted(BREACH_REASON_CODES))}")
    order = crud.get_order(session, order_id=order_id, for_update=True)  # one review at a time
    if order is None:
        raise OrderNotFound(f"order {order_id} not found")
    if order_report(session, order_id=order_id, now=now, tz=tz).breach is None:
        raise NoBreach(f"order {order_id} has no breach: nobody missed its on-site target")
    crud.add_timeline(session, order_id=order_id, at=now, actor=actor, action=BREACH_REASON_ACTION,
                      note=(note or "").strip() or None, data={"reason": reason})
    session.flush()
    return order_report(session, order_id=order_id, now=now, tz=tz)
