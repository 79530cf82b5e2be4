"""Keyword-only data access functions. No business rules here: callers decide, these store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gateway.domain.orders import ACTIVE_STATUSES
from gateway.storage.models import DeadLetter, Device, DeviceStatus, Order, SeenEvent, TimelineEntry

PRIORITY_RANK = sa.case({"P1": 1, "P2": 2, "P3": 3}, value=col(Order.priority), else_=9)


def _insert_for(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


# --- devices -------------------------------------------------------------------------------


def get_device(session: Session, *, device_id: str) -> Device | None:
    return session.get(Device, device_id)


def list_devices(session: Session, *, grid: str | None = None, limit: int = 1000, offset: int = 0) -> Sequence[Device]:
    stmt = select(Device).order_by(col(Device.device_id)).offset(offset).limit(limit)
    if grid:
        stmt = stmt.where(Device.grid == grid)
    return session.exec(stmt).all()


def save_device(session: Session, *, device: Device) -> Device:
    session.add(device)
    session.flush()
    return device


def get_device_status(session: Session, *, device_id: str) -> DeviceStatus | None:
    return session.get(DeviceStatus, device_id)


# Everything moves forward only: a message older than what is stored (late from a receiver's
# outbox, or redelivered) counts as a message but changes no state.
_FORWARD = "(device_status.last_seen IS NULL OR excluded.last_seen >= device_status.last_seen)"
_UPSERT_STATUS = f"""
INSERT INTO device_status (device_id, last_seen, last_kind, availability, battery, linkquality, messages)
VALUES ({{p}}, {{p}}, {{p}}, {{p}}, {{p}}, {{p}}, {{p}})
ON CONFLICT (device_id) DO UPDATE SET
  last_seen = CASE WHEN {_FORWARD} THEN excluded.last_seen ELSE device_status.last_seen END,
  last_kind = CASE WHEN {_FORWARD} THEN excluded.last_kind ELSE device_status.last_kind END,
  availability = CASE WHEN {_FORWARD} THEN COALESCE(excluded.availability, device_status.availability)
                 ELSE device_status.availability END,
  battery = CASE WHEN {_FORWARD} THEN COALESCE(excluded.battery, device_status.battery)
            ELSE device_status.battery END,
  linkquality = CASE WHEN {_FORWARD} THEN COALESCE(excluded.linkquality, device_status.linkquality)
                ELSE device_status.linkquality END,
  messages = device_status.messages + excluded.messages
"""


def _sqlite_time(value: datetime) -> str:
    # The text form SQLAlchemy's SQLite DateTime reads and writes (fixed width, so it sorts).
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def upsert_device_status(session: Session, *, rows: Iterable[dict[str, Any]]) -> None:
    """One statement for a whole batch (ingest's hot path, so it goes to the driver directly).
    Each row: device_id, last_seen, last_kind, messages, and optionally availability, battery,
    linkquality (None keeps the stored value); last_seen only ever moves forward."""
    conn = session.connection()
    sqlite_db = conn.dialect.name == "sqlite"
    params = [
        (
            r["device_id"],
            _sqlite_time(r["last_seen"]) if sqlite_db else r["last_seen"].astimezone(UTC).replace(tzinfo=None),
            r.get("last_kind", ""),
            r.get("availability"),
            r.get("battery"),
            r.get("linkquality"),
            r.get("messages", 1),
        )
        for r in rows
    ]
    if params:
        conn.exec_driver_sql(_UPSERT_STATUS.format(p="?" if sqlite_db else "%s"), params)


# --- orders ----------------------------------------------------------------------------------


def count_repeat_on_open_order(session: Session, *, open_key: str, at: datetime) -> int | None:
    """Count one more event on the active order holding ``open_key``; answer its id, or None."""
    stmt = (
        sa.update(Order)
        .where(col(Order.open_key) == open_key)
        .values(event_count=col(Order.event_count) + 1, last_event_at=at)
        .returning(col(Order.id))
    )
    return session.execute(stmt).scalar_one_or_none()


def insert_order_unless_open(session: Session, *, order: Order) -> Order | None:
    """Insert, or answer None when another order already holds the same open key (the
    unique index decides, so this holds across instances)."""
    try:
        with session.begin_nested():
            session.add(order)
            session.flush()
    except IntegrityError:
        session.expunge(order) if order in session else None
        return None
    return order


def find_active_order(session: Session, *, open_key: str) -> Order | None:
    return session.exec(select(Order).where(Order.open_key == open_key)).first()


def get_order(session: Session, *, order_id: int, for_update: bool = False) -> Order | None:
    stmt = select(Order).where(Order.id == order_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.exec(stmt).first()


def get_orders(session: Session, *, ids: Iterable[int]) -> Sequence[Order]:
    ids = list(ids)
    if not ids:
        return []
    return session.exec(select(Order).where(col(Order.id).in_(ids))).all()


def list_orders(
    session: Session,
    *,
    statuses: Sequence[str] = (),
    kinds: Sequence[str] = (),
    active: bool = False,
    limit: int = 200,
) -> Sequence[Order]:
    stmt = select(Order)
    if active:
        stmt = stmt.where(col(Order.status).in_([s.value for s in ACTIVE_STATUSES]))
        stmt = stmt.order_by(PRIORITY_RANK, col(Order.onsite_due_at), col(Order.id))
    else:
        stmt = stmt.order_by(col(Order.id).desc())
    if statuses:
        stmt = stmt.where(col(Order.status).in_(list(statuses)))
    if kinds:
        stmt = stmt.where(col(Order.kind).in_(list(kinds)))
    return session.exec(stmt.limit(limit)).all()


def add_timeline(
    session: Session,
    *,
    order_id: int,
    at: datetime,
    actor: str,
    action: str,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> TimelineEntry:
    entry = TimelineEntry(order_id=order_id, at=at, actor=actor, action=action, note=note, data=data)
    session.add(entry)
    return entry


def timeline_for(session: Session, *, order_id: int) -> Sequence[TimelineEntry]:
    stmt = select(TimelineEntry).where(TimelineEntry.order_id == order_id).order_by(col(TimelineEntry.id))
    return session.exec(stmt).all()


def mark_event_seen(session: Session, *, event_id: str, at: datetime) -> bool:
    """True the first time an event id is seen, False for a redelivery."""
    table = SeenEvent.__table__  # type: ignore[attr-defined]
    stmt = (
        _insert_for(session, table)
        .values(event_id=event_id, seen_at=at)
        .on_conflict_do_nothing()
        .returning(table.c.event_id)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


# --- dead letters ---------------------------------------------------------------------------


def add_dead_letters(session: Session, *, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(sa.insert(DeadLetter), rows)


def list_dead_letters(session: Session, *, limit: int = 100, reason: str | None = None) -> Sequence[DeadLetter]:
    stmt = select(DeadLetter).order_by(col(DeadLetter.id).desc()).limit(limit)
    if reason:
        stmt = stmt.where(DeadLetter.reason == reason)
    return session.exec(stmt).all()
