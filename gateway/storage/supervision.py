"""Supervision rows: deadlines as data, claimed in batches (SKIP LOCKED on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from gateway.storage.models import Device, DeviceHistory, DeviceStatus, DeviceSupervision

_SUP: Any = DeviceSupervision.__table__
_STATUS: Any = DeviceStatus.__table__
_DEV: Any = Device.__table__


def _locked(session: Session, stmt: Any) -> Any:
    if session.connection().dialect.name == "postgresql":
        return stmt.with_for_update(of=_SUP, skip_locked=True)
    return stmt


def unsupervised(session: Session, *, limit: int) -> Sequence[sa.Row[Any]]:
    """Registered devices without a supervision row yet, with what is known of them."""
    stmt = (
        sa.select(_DEV.c.device_id, _DEV.c.kind, _DEV.c.model, _STATUS.c.last_seen)
        .select_from(_DEV.outerjoin(_SUP, _SUP.c.device_id == _DEV.c.device_id)
                     .outerjoin(_STATUS, _STATUS.c.device_id == _DEV.c.device_id))
        .where(_SUP.c.device_id.is_(None))
        .limit(limit)
    )
    return session.connection().execute(stmt).all()


def add(session: Session, *, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.connection().execute(sa.insert(_SUP), rows)


def _joined(*where: Any, limit: int) -> Any:
    return (
        sa.select(_SUP.c.device_id, _SUP.c.deadline_at, _SUP.c.state, _SUP.c.offline_since, _SUP.c.power_alarm_at,
                  _SUP.c.power_alarmed_at, _SUP.c.sampled_at,
                  _STATUS.c.last_seen, _STATUS.c.availability, _STATUS.c.power, _STATUS.c.power_changed_at,
                  _STATUS.c.battery, _STATUS.c.linkquality,
                  _DEV.c.kind, _DEV.c.model)
        .select_from(_SUP.outerjoin(_STATUS, _STATUS.c.device_id == _SUP.c.device_id)
                     .outerjoin(_DEV, _DEV.c.device_id == _SUP.c.device_id))
        .where(*where)
        .order_by(_SUP.c.device_id)
        .limit(limit)
    )


def due(session: Session, *, now: datetime, limit: int) -> Sequence[sa.Row[Any]]:
    """Supervised devices whose deadline has come."""
    stmt = _joined(_SUP.c.state == "ok", _SUP.c.deadline_at <= now, limit=limit)
    return session.connection().execute(_locked(session, stmt)).all()


def said_offline(session: Session, *, limit: int) -> Sequence[sa.Row[Any]]:
    """Supervised devices still counted as up whose bridge says they are offline."""
    stmt = _joined(_SUP.c.state == "ok", _STATUS.c.availability == "offline", limit=limit)
    return session.connection().execute(_locked(session, stmt)).all()


def heard_again(session: Session, *, limit: int) -> Sequence[sa.Row[Any]]:
    """Devices counted as offline that have spoken since (and are not said to be offline)."""
    stmt = _joined(_SUP.c.state == "offline", _STATUS.c.last_seen > _SUP.c.offline_since,
                   sa.or_(_STATUS.c.availability.is_(None), _STATUS.c.availability != "offline"), limit=limit)
    return session.connection().execute(_locked(session, stmt)).all()


def power_changes(session: Session, *, now: datetime, limit: int) -> Sequence[sa.Row[Any]]:
    """Devices whose mains power needs a look: lost with no timer yet, a timer due, or power back
    with a timer still set."""
    stmt = _joined(
        sa.or_(
            sa.and_(_STATUS.c.power == "lost", _SUP.c.power_alarm_at.is_(None),
                    sa.or_(_SUP.c.power_alarmed_at.is_(None), _SUP.c.power_alarmed_at < _STATUS.c.power_changed_at)),
            _SUP.c.power_alarm_at <= now,
            sa.and_(_STATUS.c.power == "ok", _SUP.c.power_alarm_at.is_not(None)),
        ),
        limit=limit,
    )
    return session.connection().execute(_locked(session, stmt)).all()


_HISTORY: Any = DeviceHistory.__table__


def add_history(session: Session, *, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.connection().execute(sa.insert(_HISTORY), rows)


_UPDATE = (
    sa.update(_SUP)
    .where(_SUP.c.device_id == sa.bindparam("b_device_id"))
)


def update(session: Session, *, rows: list[dict[str, Any]]) -> None:
    """Each row: ``b_device_id`` and the columns to set (the same columns in every row)."""
    if not rows:
        return
    columns = {k: sa.bindparam(k) for k in rows[0] if k != "b_device_id"}
    session.connection().execute(_UPDATE.values(**columns), rows)
