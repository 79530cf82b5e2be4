"""Inactivity monitoring (issue 4): homes whose resident has not moved for too long in the
watched window get a wellbeing check (P2) for the on-call staff and grid worker.

Motion, door and presence sensors report ``activity`` events; ingest keeps each device's latest
in ``device_status.last_activity_at``. This pass, run by the scheduler about once a minute,
takes each watched home (inactivity on, not away), its latest activity across its devices, and
asks the pure rule (``gateway.domain.inactivity``) whether the silence has reached the limit.
Findings become device events on the home's activity sensor, applied with ``apply_events``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from device_adapters.events import DeviceEvent, EventKind
from gateway.domain.inactivity import silence_due
from gateway.services.events import OrderChange, apply_events
from gateway.storage.models import Device, DeviceStatus, Home, HomeWatch

SOURCE = "inactivity"
_HOME: Any = Home.__table__
_DEV: Any = Device.__table__
_STATUS: Any = DeviceStatus.__table__
_WATCH: Any = HomeWatch.__table__


@dataclass
class Watched:
    events: list[DeviceEvent] = field(default_factory=list)
    changes: list[OrderChange] = field(default_factory=list)
    homes: int = 0


def _watched_homes(session: Session) -> list[Any]:
    """Each watched home with its latest activity and one of its activity sensors (the lowest id,
    so that repeats land on the same order: the device the wellbeing order is raised on)."""
    latest = (
        sa.select(_DEV.c.home_id, sa.func.max(_STATUS.c.last_activity_at).label("last_activity"),
                  sa.func.min(_DEV.c.device_id).label("sensor"))
        .select_from(_DEV.join(_STATUS, _STATUS.c.device_id == _DEV.c.device_id))
        .where(_STATUS.c.last_activity_at.is_not(None), _DEV.c.home_id.is_not(None))
        .group_by(_DEV.c.home_id)
        .subquery()
    )
    stmt = (
        sa.select(_HOME.c.home_id, _HOME.c.inactivity_hours, _HOME.c.window_start, _HOME.c.window_end,
                  latest.c.last_activity, latest.c.sensor, _WATCH.c.alarm_for)
        .select_from(_HOME.join(latest, latest.c.home_id == _HOME.c.home_id)
                     .outerjoin(_WATCH, _WATCH.c.home_id == _HOME.c.home_id))
        .where(_HOME.c.inactivity_hours.is_not(None), _HOME.c.away.is_(False))
    )
    return list(session.connection().execute(stmt))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def poll(session: Session, *, now: datetime, tz: ZoneInfo) -> Watched:
    """One pass over the watched homes; the caller commits."""
    out = Watched()
    marks: list[dict[str, Any]] = []
    for h in _watched_homes(session):
        out.homes += 1
        last = _aware(h.last_activity)
        alarm_for = _aware(h.alarm_for) if h.alarm_for is not None else None
        if alarm_for is not None and last > alarm_for:
            out.events.append(DeviceEvent(device_id=h.sensor, kind=EventKind.ACTIVITY_RESUMED, at=now, source=SOURCE,
                                          raw={"home_id": h.home_id, "last_activity": last.isoformat()}))
            marks.append({"home_id": h.home_id, "alarm_for": None, "checked_at": now})
            continue
        due = silence_due(last, hours=float(h.inactivity_hours), tz=tz, start=h.window_start, end=h.window_end)
        if due is not None and due <= now and alarm_for != last:
            out.events.append(DeviceEvent(
                device_id=h.sensor, kind=EventKind.INACTIVITY, at=now, source=SOURCE,
                raw={"home_id": h.home_id, "last_activity": last.isoformat(), "hours": h.inactivity_hours,
                     "window": f"{h.window_start}-{h.window_end}"}))
            marks.append({"home_id": h.home_id, "alarm_for": last, "checked_at": now})
    if marks:
        conn = session.connection()
        conn.execute(sa.delete(_WATCH).where(_WATCH.c.home_id.in_([m["home_id"] for m in marks])))
        conn.execute(sa.insert(_WATCH), marks)
    if out.events:
        out.changes = apply_events(session, out.events, now=now)
    return out
