"""Fleet queries: the registry joined with what devices said and what supervision concluded,
read in a few statements for the whole fleet (never one per device)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from gateway.domain.orders import ACTIVE_STATUSES
from gateway.storage.models import Device, DeviceHistory, DeviceStatus, DeviceSupervision, Home, Order

_DEV: Any = Device.__table__
_STATUS: Any = DeviceStatus.__table__
_SUP: Any = DeviceSupervision.__table__
_ORDERS: Any = Order.__table__
_HISTORY: Any = DeviceHistory.__table__
_HOMES: Any = Home.__table__

_ACTIVE = sorted(s.value for s in ACTIVE_STATUSES)


def _device_filters(grid: str | None, home_id: str | None, device_id: str | None) -> list[Any]:
    where: list[Any] = []
    if grid is not None:
        where.append(_DEV.c.grid == grid)
    if home_id is not None:
        where.append(_DEV.c.home_id == home_id)
    if device_id is not None:
        where.append(_DEV.c.device_id == device_id)
    return where


def fleet_rows(session: Session, *, grid: str | None = None, home_id: str | None = None,
               device_id: str | None = None) -> Sequence[sa.Row[Any]]:
    """Every registered device (of a grid, a home, or one device) with its status and its
    supervision row, in one statement, ordered by device id."""
    stmt = (
        sa.select(_DEV.c.device_id, _DEV.c.home_id, _DEV.c.kind, _DEV.c.model, _DEV.c.resident, _DEV.c.address,
                  _DEV.c.grid, _STATUS.c.last_seen, _STATUS.c.last_kind, _STATUS.c.availability, _STATUS.c.battery,
                  _STATUS.c.linkquality, _STATUS.c.power, _STATUS.c.power_changed_at, _STATUS.c.last_activity_at,
                  _SUP.c.deadline_at, _SUP.c.state.label("supervision"), _SUP.c.offline_since,
                  _SUP.c.offline_reason)
        .select_from(_DEV.outerjoin(_STATUS, _STATUS.c.device_id == _DEV.c.device_id)
                     .outerjoin(_SUP, _SUP.c.device_id == _DEV.c.device_id))
        .where(*_device_filters(grid, home_id, device_id))
        .order_by(_DEV.c.device_id)
    )
    return session.connection().execute(stmt).all()


def active_orders(session: Session, *, grid: str | None = None, home_id: str | None = None,
                  device_id: str | None = None) -> Sequence[sa.Row[Any]]:
    """The active orders raised on registered devices (of a grid, a home, or one device), in
    one statement: id, device_id, kind, status, priority, opened_at."""
    stmt = (
        sa.select(_ORDERS.c.id, _ORDERS.c.device_id, _ORDERS.c.kind, _ORDERS.c.status, _ORDERS.c.priority,
                  _ORDERS.c.opened_at)
        .select_from(_ORDERS.join(_DEV, _DEV.c.device_id == _ORDERS.c.device_id))
        .where(_ORDERS.c.status.in_(_ACTIVE), *_device_filters(grid, home_id, device_id))
        .order_by(_ORDERS.c.id)
    )
    return session.connection().execute(stmt).all()


def device_grids(session: Session) -> list[str]:
    """The grids that registered devices are in (for a grid picker)."""
    stmt = sa.select(_DEV.c.grid).where(_DEV.c.grid != "").distinct().order_by(_DEV.c.grid)
    return list(session.connection().execute(stmt).scalars())


def history(session: Session, *, device_id: str, since: datetime) -> Sequence[sa.Row[Any]]:
    stmt = (
        sa.select(_HISTORY.c.at, _HISTORY.c.battery, _HISTORY.c.linkquality, _HISTORY.c.availability)
        .where(_HISTORY.c.device_id == device_id, _HISTORY.c.at >= since)
        .order_by(_HISTORY.c.at, _HISTORY.c.id)
    )
    return session.connection().execute(stmt).all()


def device_counts(session: Session, *, home_ids: Sequence[str] | None = None) -> dict[str, int]:
    """How many devices each home has (homes without devices are absent)."""
    stmt = sa.select(_DEV.c.home_id, sa.func.count()).where(_DEV.c.home_id.is_not(None)).group_by(_DEV.c.home_id)
    if home_ids is not None:
        if not home_ids:
            return {}
        stmt = stmt.where(_DEV.c.home_id.in_(list(home_ids)))
    return {home_id: count for home_id, count in session.connection().execute(stmt)}


def copy_home_onto_devices(session: Session, *, home_id: str, resident: str, address: str, grid: str,
                           now: datetime) -> int:
    """Set the copies of a home's resident, address and grid on all its devices (those that
    differ); answer how many devices changed."""
    stmt = (
        sa.update(_DEV)
        .where(_DEV.c.home_id == home_id,
               sa.or_(_DEV.c.resident != resident, _DEV.c.address != address, _DEV.c.grid != grid))
        .values(resident=resident, address=address, grid=grid, updated_at=now)
    )
    return session.connection().execute(stmt).rowcount or 0


def statuses(session: Session, *, device_ids: Sequence[str]) -> dict[str, DeviceStatus]:
    """Status rows of these devices, in one statement."""
    if not device_ids:
        return {}
    stmt = select(DeviceStatus).where(col(DeviceStatus.device_id).in_(list(device_ids)))
    return {s.device_id: s for s in session.exec(stmt).all()}
