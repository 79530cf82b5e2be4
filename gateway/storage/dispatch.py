"""Dispatch data: technicians with their load, and the per-kind dispatch settings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from gateway.domain.orders import ACTIVE_STATUSES
from gateway.storage.models import DispatchSetting, Order, TimelineEntry, User


def loads(session: Session) -> dict[str, int]:
    """Active orders per assignee, in one query."""
    rows = session.exec(
        select(Order.assignee, sa.func.count())
        .where(col(Order.assignee).is_not(None), col(Order.status).in_([s.value for s in ACTIVE_STATUSES]))
        .group_by(Order.assignee)
    ).all()
    return {name: n for name, n in rows if name}


def technicians(session: Session) -> Sequence[User]:
    return session.exec(
        select(User).where(User.role == "technician", col(User.active).is_(True)).order_by(User.name)
    ).all()


def rejected_by(session: Session, *, order_id: int) -> set[str]:
    rows = session.exec(
        select(TimelineEntry.data).where(TimelineEntry.order_id == order_id, TimelineEntry.action == "reject")
    ).all()
    return {str(d.get("technician")) for d in rows if d and d.get("technician")}


def get_setting(session: Session, *, kind: str) -> DispatchSetting | None:
    return session.get(DispatchSetting, kind)


def list_settings(session: Session) -> Sequence[DispatchSetting]:
    return session.exec(select(DispatchSetting)).all()


def save_setting(session: Session, *, kind: str, skill: str, auto: bool, by: str, now: datetime) -> DispatchSetting:
    row = session.get(DispatchSetting, kind) or DispatchSetting(kind=kind, skill=skill)
    row.skill, row.auto, row.updated_by, row.updated_at = skill, auto, by, now
    session.add(row)
    session.flush()
    return row
