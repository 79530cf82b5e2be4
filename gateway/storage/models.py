"""SQLModel tables. Times are stored as UTC and come back timezone-aware."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import JSON, Column, Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (SQLite has no time zones) and returns aware UTC datetimes."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Home(SQLModel, table=True):
    """A home (户): where devices are, who lives there, which grid it belongs to, and how its
    resident's wellbeing is watched (the inactivity window, in the community's wall clock)."""

    __tablename__ = "homes"

    home_id: str = Field(primary_key=True, max_length=64)  # e.g. 3-2-101 (building-unit-room)
    address: str = Field(default="", max_length=256)
    building: str = Field(default="", max_length=32)
    unit: str = Field(default="", max_length=32)
    room: str = Field(default="", max_length=32)
    grid: str = Field(default="", max_length=64, index=True)
    resident: str = Field(default="", max_length=128)
    phone: str = Field(default="", max_length=32)
    # Inactivity monitoring: no activity for ``inactivity_hours`` of window time between
    # ``window_start`` and ``window_end`` opens a wellbeing check. None: not watched.
    inactivity_hours: float | None = None
    window_start: str = Field(default="07:00", max_length=5)
    window_end: str = Field(default="22:00", max_length=5)
    away: bool = False  # in hospital, visiting family: inactivity is not watched
    away_note: str = Field(default="", max_length=256)
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


class Device(SQLModel, table=True):
    """Registry entry: what the device is and whose home it protects. ``resident``, ``address``
    and ``grid`` are copied from the home when ``home_id`` is set (the alarm path reads them
    here, in one query per batch)."""

    __tablename__ = "devices"

    device_id: str = Field(primary_key=True, max_length=128)
    home_id: str | None = Field(default=None, max_length=64, index=True)
    model: str = Field(default="", max_length=64)
    kind: str = Field(default="", max_length=32)
    resident: str = Field(default="", max_length=128)
    address: str = Field(default="", max_length=256)
    grid: str = Field(default="", max_length=64)
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


class DeviceStatus(SQLModel, table=True):
    """What the devices last said about themselves. Kept apart from the registry so that
    ingest can upsert it for any device, registered or not, in one statement per batch."""

    __tablename__ = "device_status"

    device_id: str = Field(primary_key=True, max_length=128)
    last_seen: datetime | None = _ts()
    last_kind: str = Field(default="", max_length=32)
    availability: str | None = Field(default=None, max_length=16, index=True)
    battery: float | None = None
    linkquality: float | None = None
    power: str | None = Field(default=None, max_length=8)  # mains: "ok" | "lost"
    power_changed_at: datetime | None = _ts()
    last_activity_at: datetime | None = _ts()  # motion, door, presence: someone was up and about
    messages: int = 0


class DeviceHistory(SQLModel, table=True):
    """Readings sampled by supervision when a device's deadline comes round, at most every 15
    minutes per device (a day apart for battery devices), for history charts."""

    __tablename__ = "device_history"

    id: int | None = Field(default=None, primary_key=True)
    device_id: str = Field(max_length=128, index=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    battery: float | None = None
    linkquality: float | None = None
    availability: str | None = Field(default=None, max_length=16)


class DeviceSupervision(SQLModel, table=True):
    """A timer as data per registered device: its deadline ("last seen + interval + grace"),
    polled by the scheduler, and what supervision last concluded. Ingest never writes here: the
    poll reads ``device_status.last_seen`` when a deadline falls due and moves it on."""

    __tablename__ = "device_supervision"

    device_id: str = Field(primary_key=True, max_length=128)
    deadline_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    state: str = Field(default="ok", max_length=16, index=True)  # ok | offline
    offline_since: datetime | None = _ts()
    offline_reason: str | None = Field(default=None, max_length=32)  # missed_deadline | availability
    power_alarm_at: datetime | None = _ts()  # mains lost: when a ticket opens unless it returns first
    power_alarmed_at: datetime | None = _ts()  # when the last power ticket was raised
    sampled_at: datetime | None = _ts()  # when its readings last went into device_history
    updated_at: datetime | None = _ts()


class Order(SQLModel, table=True):
    __tablename__ = "orders"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, index=True)
    category: str = Field(max_length=16)
    priority: str = Field(max_length=4)
    status: str = Field(max_length=16, index=True)
    device_id: str = Field(default="", max_length=128, index=True)
    home_id: str | None = Field(default=None, max_length=64, index=True)  # requests and care visits
    unregistered: bool = False
    resident: str = Field(default="", max_length=128)
    address: str = Field(default="", max_length=256)
    grid: str = Field(default="", max_length=64)
    assignee: str | None = Field(default=None, max_length=128)
    # Unique while the order is active; NULL once it is resolved, closed or cancelled. The
    # database's unique index is what keeps one open order per device and alarm kind, across
    # redeliveries and gateway instances (DESIGN invariant 2).
    open_key: str | None = Field(default=None, max_length=200, unique=True)
    opened_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    ack_due_at: datetime | None = _ts()
    onsite_due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    at_risk_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    resolve_due_at: datetime | None = _ts()  # requests: resolved by (working hours)
    acknowledged_at: datetime | None = _ts()
    dispatched_at: datetime | None = _ts()
    accepted_at: datetime | None = _ts()
    departed_at: datetime | None = _ts()
    arrived_at: datetime | None = _ts()
    resolved_at: datetime | None = _ts()
    closed_at: datetime | None = _ts()
    cancelled_at: datetime | None = _ts()
    cancel_reason: str | None = Field(default=None, max_length=500)
    event_count: int = 1
    last_event_at: datetime | None = _ts()


class TimelineEntry(SQLModel, table=True):
    """Append-only: who did what to an order, and when (UTC)."""

    __tablename__ = "order_timeline"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    actor: str = Field(max_length=160)  # "device:" and a device id of up to 128 characters fit
    action: str = Field(max_length=32)
    note: str | None = Field(default=None, max_length=2000)
    data: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class SeenEvent(SQLModel, table=True):
    """Source-given event ids already applied: an exact redelivery is not counted twice."""

    __tablename__ = "seen_events"

    event_id: str = Field(primary_key=True, max_length=160)
    seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class DeadLetter(SQLModel, table=True):
    """A message that could not be decoded, kept with its reason (DESIGN invariant 1)."""

    __tablename__ = "dead_letters"

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    topic: str = Field(max_length=1024)
    reason: str = Field(max_length=64, index=True)
    detail: str = Field(default="", max_length=1000)
    payload: bytes = Field(sa_column=Column(sa.LargeBinary, nullable=False))
    payload_size: int = 0


class EscalationStep(SQLModel, table=True):
    """A timer as data (DESIGN invariant 3): one step of an order's escalation ladder, due at
    a time, polled by the scheduler, fired (or found void) exactly once."""

    __tablename__ = "escalation_steps"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    order_kind: str = Field(max_length=32)
    step: str = Field(max_length=64)
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    status: str = Field(default="pending", max_length=16, index=True)  # pending | fired | void
    done_at: datetime | None = _ts()
    done_by: str | None = Field(default=None, max_length=128)  # the gateway instance that took it


class User(SQLModel, table=True):
    """A person who signs in: staff (资源清单 for technicians: skills, home grid, live status)
    and residents. ``name`` is the login and what the timeline records as the actor."""

    __tablename__ = "users"

    name: str = Field(primary_key=True, max_length=64)
    display_name: str = Field(default="", max_length=128)
    role: str = Field(max_length=16, index=True)  # gateway.domain.roles.Role
    password_hash: str | None = Field(default=None, max_length=256)
    team: str = Field(default="", max_length=64)  # e.g. property, community
    skills: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    grid: str = Field(default="", max_length=64)
    building: str = Field(default="", max_length=64)
    phone: str = Field(default="", max_length=32)
    home_id: str | None = Field(default=None, max_length=64)  # a resident's home
    status: str = Field(default="available", max_length=16)  # available | busy | off_duty
    active: bool = True
    created_at: datetime | None = _ts()


class ApiToken(SQLModel, table=True):
    """A bearer token: an integration's (named, with a role of its own) or a signed-in user's
    session. Only a hash is stored; revoking sets ``revoked_at``."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    kind: str = Field(default="api", max_length=16)  # api | session
    token_hash: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)
    user: str | None = Field(default=None, max_length=64, index=True)  # session tokens: whose
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()


class DispatchSetting(SQLModel, table=True):
    """An admin's choice for one order kind: the skill it needs and whether Shewu dispatches it
    by itself. Kinds without a row use ``gateway.domain.dispatch.RULES``."""

    __tablename__ = "dispatch_settings"

    kind: str = Field(primary_key=True, max_length=32)
    skill: str = Field(max_length=32)
    auto: bool = False
    updated_at: datetime | None = _ts()
    updated_by: str | None = Field(default=None, max_length=128)


class HomeWatch(SQLModel, table=True):
    """Inactivity monitoring's memory of a home: the last activity for which a wellbeing check
    was raised (so that it is raised once, and "activity resumed" noted once)."""

    __tablename__ = "home_watch"

    home_id: str = Field(primary_key=True, max_length=64)
    alarm_for: datetime | None = _ts()  # the last activity time the open alarm was raised for
    checked_at: datetime | None = _ts()


class ServiceRequest(SQLModel, table=True):
    """A resident's request as filed (居民点单): every filing is kept and answered. It is handled
    by ``order_id``: a new order, or the open one of the same home and category it repeats
    (``linked`` then says so)."""

    __tablename__ = "service_requests"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    linked: bool = False  # a repeat of an open request: joined to it, not opened again
    home_id: str = Field(max_length=64, index=True)
    category: str = Field(max_length=32)
    description: str = Field(max_length=2000)
    preferred_time: str = Field(default="", max_length=64)
    photo: str | None = Field(default=None, max_length=128)  # a file name under the photo store
    filed_by: str = Field(max_length=128)  # the signed-in resident or grid worker
    on_behalf: bool = False  # filed by a grid worker for the resident
    filed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    answer: str = Field(default="", max_length=500)  # what the resident was told
    rating: int | None = None  # 1..5 on confirmation
    rating_comment: str | None = Field(default=None, max_length=1000)


class RegistryVersion(SQLModel, table=True):
    """One row counting changes to the device registry, bumped in the transaction of each change
    (gateway.storage.registry), so that ingest reads a new device's model and kind for the very
    next message instead of up to 30 s later."""

    __tablename__ = "registry_version"

    id: int = Field(default=1, primary_key=True)
    version: int = 0


class PairingSession(SQLModel, table=True):
    """An installer pairing a device (issue 9): "this home, this kind: the next new device heard
    is it". ``status``: waiting → paired | expired | cancelled."""

    __tablename__ = "pairing_sessions"

    id: int | None = Field(default=None, primary_key=True)
    home_id: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    started_by: str = Field(max_length=64)
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    status: str = Field(default="waiting", max_length=16, index=True)
    device_id: str | None = Field(default=None, max_length=128)
    model: str = Field(default="", max_length=64)
    heard: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))  # what it sent
    paired_at: datetime | None = _ts()
