"""Keyword-only data access functions. No business rules here: callers decide, these store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from gateway.domain.orders import ACTIVE_STATUSES
from gateway.storage.models import DeadLetter, Device, DeviceStatus, EscalationStep, Order, SeenEvent, TimelineEntry

PRIORITY_RANK = sa.case({"P1": 1, "P2": 2, "P3": 3}, value=col(Order.priority), else_=9)


def _insert_for(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


_STATEMENTS: dict[tuple[str, str], Any] = {}


def _cached(session: Session, name: str, build: Any) -> Any:
    """A dialect-specific statement, built once (building and compiling cost more than running)."""
    key = (session.get_bind().dialect.name, name)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        stmt = _STATEMENTS[key] = build()
    return stmt


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
INSERT INTO device_status (device_id, last_seen, last_kind, availability, battery, linkquality, power,
                           power_changed_at, last_activity_at, messages)
VALUES ({{p}}, {{p}}, {{p}}, {{p}}, {{p}}, {{p}}, {{p}}, {{p}}, {{p}}, {{p}})
ON CONFLICT (device_id) DO UPDATE SET
  last_seen = CASE WHEN {_FORWARD} THEN excluded.last_seen ELSE device_status.last_seen END,
  last_kind = CASE WHEN {_FORWARD} THEN excluded.last_kind ELSE device_status.last_kind END,
  availability = CASE WHEN {_FORWARD} THEN COALESCE(excluded.availability, device_status.availability)
                 ELSE device_status.availability END,
  battery = CASE WHEN {_FORWARD} THEN COALESCE(excluded.battery, device_status.battery)
            ELSE device_status.battery END,
  linkquality = CASE WHEN {_FORWARD} THEN COALESCE(excluded.linkquality, device_status.linkquality)
                ELSE device_status.linkquality END,
  power_changed_at = CASE WHEN {_FORWARD} AND excluded.power IS NOT NULL
                          AND (device_status.power IS NULL OR excluded.power <> device_status.power)
                     THEN excluded.last_seen ELSE device_status.power_changed_at END,
  power = CASE WHEN {_FORWARD} THEN COALESCE(excluded.power, device_status.power) ELSE device_status.power END,
  last_activity_at = CASE WHEN device_status.last_activity_at IS NULL
                               OR excluded.last_activity_at > device_status.last_activity_at
                          THEN COALESCE(excluded.last_activity_at, device_status.last_activity_at)
                          ELSE device_status.last_activity_at END,
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
    linkquality, power (None keeps the stored value); last_seen only ever moves forward, and
    power_changed_at marks when mains power last changed."""
    conn = session.connection()
    sqlite_db = conn.dialect.name == "sqlite"

    def db_time(value: datetime) -> Any:
        return _sqlite_time(value) if sqlite_db else value.astimezone(UTC).replace(tzinfo=None)

    params = [
        (
            r["device_id"],
            db_time(r["last_seen"]),
            r.get("last_kind", ""),
            r.get("availability"),
            r.get("battery"),
            r.get("linkquality"),
            r.get("power"),
            None if r.get("power") is None else db_time(r["last_seen"]),
            None if r.get("last_activity_at") is None else db_time(r["last_activity_at"]),
            r.get("messages", 1),
        )
        for r in rows
    ]
    if params:
        conn.exec_driver_sql(_UPSERT_STATUS.format(p="?" if sqlite_db else "%s"), params)


# --- orders ----------------------------------------------------------------------------------


# The alarm path (ingest) goes through SQLAlchemy Core on the session's connection: no ORM
# unit of work, no savepoints, statements built once. The API's paths use the ORM.
_ORDERS = Order.__table__  # type: ignore[attr-defined]
_TIMELINE = TimelineEntry.__table__  # type: ignore[attr-defined]
_DEVICES = Device.__table__  # type: ignore[attr-defined]

_COUNT_REPEAT = (
    sa.update(_ORDERS)
    .where(_ORDERS.c.open_key == sa.bindparam("key"))
    .values(
        event_count=_ORDERS.c.event_count + 1,
        # forward only: an older repeat (delivered late) does not move the last event back
        last_event_at=sa.case(
            (_ORDERS.c.last_event_at > sa.bindparam("at"), _ORDERS.c.last_event_at), else_=sa.bindparam("at")
        ),
    )
    .returning(*_ORDERS.c)
)
_HOMES = sa.select(_DEVICES.c.device_id, _DEVICES.c.resident, _DEVICES.c.address, _DEVICES.c.grid,
                   _DEVICES.c.kind).where(
    _DEVICES.c.device_id.in_(sa.bindparam("ids", expanding=True))
)
_ACTIVE_BY_KEY = sa.select(_ORDERS.c.id).where(_ORDERS.c.open_key == sa.bindparam("key"))
_TIMELINE_INSERT = sa.insert(_TIMELINE)


def count_repeat_on_open_order(session: Session, *, open_key: str, at: datetime) -> sa.Row[Any] | None:
    """Count one more event on the active order holding ``open_key``; answer the order as it
    now is (a row), or None when no active order holds the key."""
    return session.connection().execute(_COUNT_REPEAT, {"key": open_key, "at": at}).first()


def insert_order_unless_open(session: Session, *, values: dict[str, Any]) -> sa.Row[Any] | None:
    """Insert an order and answer it (a row), or None when another order already holds the
    same open key. The unique index decides (ON CONFLICT DO NOTHING), so this holds across
    instances without a savepoint."""
    stmt = _cached(session, "insert_order", lambda: (
        _insert_for(session, _ORDERS)
        .on_conflict_do_nothing(index_elements=[_ORDERS.c.open_key])
        .returning(*_ORDERS.c)
    ))
    return session.connection().execute(stmt, values).first()


def active_order_id(session: Session, *, open_key: str) -> int | None:
    return session.connection().execute(_ACTIVE_BY_KEY, {"key": open_key}).scalar_one_or_none()


def device_homes(session: Session, *, device_ids: Iterable[str]) -> dict[str, sa.Row[Any]]:
    """Registry rows (resident, address, grid) of those devices that are registered."""
    ids = list(device_ids)
    if not ids:
        return {}
    return {row.device_id: row for row in session.connection().execute(_HOMES, {"ids": ids})}


def append_timeline_rows(session: Session, *, rows: list[dict[str, Any]]) -> None:
    """The alarm path's timeline appends, one statement for a batch (``add_timeline`` is the
    ORM one). Each row: order_id, at, actor, action, note, data."""
    if rows:
        session.connection().execute(_TIMELINE_INSERT, rows)


def order_rows(session: Session, *, ids: Iterable[int]) -> list[sa.Row[Any]]:
    """Orders as rows (attribute access like the model): for the live feed after a batch."""
    ids = list(ids)
    if not ids:
        return []
    return list(session.connection().execute(sa.select(_ORDERS).where(_ORDERS.c.id.in_(ids))))


def get_order(session: Session, *, order_id: int, for_update: bool = False) -> Order | None:
    stmt = select(Order).where(Order.id == order_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.exec(stmt).first()


def list_orders(
    session: Session,
    *,
    statuses: Sequence[str] = (),
    kinds: Sequence[str] = (),
    active: bool = False,
    assignee: str | None = None,
    grid: str | None = None,
    limit: int = 200,
) -> Sequence[Order]:
    stmt = select(Order)
    if assignee is not None:
        stmt = stmt.where(Order.assignee == assignee)
    if grid is not None:
        stmt = stmt.where(Order.grid == grid)
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


def claim_event_ids(session: Session, *, event_ids: list[str], at: datetime) -> set[str]:
    """Record source-given event ids; answer those this transaction recorded first (the rest are
    redeliveries). The insert decides (ON CONFLICT DO NOTHING RETURNING): of two instances claiming
    one id at the same moment, the second waits for the first to commit and gets nothing back, so an
    event is applied once even when a resend and its original arrive at two instances together."""
    if not event_ids:
        return set()
    table = SeenEvent.__table__  # type: ignore[attr-defined]
    stmt = _cached(session, "claim_event", lambda: (
        _insert_for(session, table).on_conflict_do_nothing().returning(table.c.event_id)))
    rows = [{"event_id": i, "seen_at": at} for i in dict.fromkeys(event_ids)]
    return set(session.connection().execute(stmt, rows).scalars())


def prune_seen_events(session: Session, *, before: datetime) -> int:
    """Forget event ids recorded before ``before``; answer how many."""
    table = SeenEvent.__table__  # type: ignore[attr-defined]
    return session.connection().execute(sa.delete(table).where(table.c.seen_at < before)).rowcount or 0


# --- dead letters ---------------------------------------------------------------------------


def add_dead_letters(session: Session, *, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(sa.insert(DeadLetter), rows)


def list_dead_letters(session: Session, *, limit: int = 100, reason: str | None = None) -> Sequence[DeadLetter]:
    stmt = select(DeadLetter).order_by(col(DeadLetter.id).desc()).limit(limit)
    if reason:
        stmt = stmt.where(DeadLetter.reason == reason)
    return session.exec(stmt).all()


# --- escalation steps (timers as data) -------------------------------------------------------

_STEPS = EscalationStep.__table__  # type: ignore[attr-defined]


def add_escalation_steps(session: Session, *, rows: list[dict[str, Any]]) -> None:
    """Each row: order_id, order_kind, step, due_at."""
    if rows:
        session.connection().execute(sa.insert(_STEPS), [{**r, "status": "pending"} for r in rows])


def due_escalation_steps(session: Session, *, now: datetime, limit: int) -> list[sa.Row[Any]]:
    """Pending steps due by ``now``, oldest first. On PostgreSQL the rows are locked and rows
    another scheduler holds are skipped (FOR UPDATE SKIP LOCKED)."""
    stmt = (
        sa.select(_STEPS.c.id, _STEPS.c.order_id, _STEPS.c.order_kind, _STEPS.c.step, _STEPS.c.due_at)
        .where(_STEPS.c.status == "pending", _STEPS.c.due_at <= now)
        .order_by(_STEPS.c.due_at, _STEPS.c.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.connection().execute(stmt))


def finish_escalation_steps(session: Session, *, ids: list[int], status: str, at: datetime, by: str) -> set[int]:
    """Mark pending steps fired or void; answer the ids this call took. Another scheduler may
    have taken some (on SQLite two schedulers can read the same due rows): the conditional
    update lets only one win each."""
    if not ids:
        return set()
    stmt = (
        sa.update(_STEPS)
        .where(_STEPS.c.id.in_(ids), _STEPS.c.status == "pending")
        .values(status=status, done_at=at, done_by=by)
        .returning(_STEPS.c.id)
    )
    return set(session.connection().execute(stmt).scalars())
