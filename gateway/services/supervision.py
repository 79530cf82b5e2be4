"""Supervision (issue: device fleet): every registered device has a deadline, "last seen +
interval + grace", stored as data and polled by the scheduler. A missed deadline or the
bridge's "offline" opens one maintenance ticket per device (P2 for the devices that protect a
resident); hearing from the device again notes it on the ticket, which only a person closes.
Mains power lost for longer than a delay with jitter opens a power ticket.

Supervision raises its findings as device events (source ``supervision``) and applies them with
``apply_events``, so tickets, repeats, timelines and ladders work as for any alarm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from device_adapters.events import DeviceEvent, EventKind
from gateway.domain.supervision import deadline, power_alarm_at, profile_for
from gateway.services.events import OrderChange, apply_events
from gateway.storage import supervision as store

SOURCE = "supervision"
HISTORY_EVERY = timedelta(minutes=15)  # readings sampled at most this often per device


@dataclass
class Findings:
    events: list[DeviceEvent] = field(default_factory=list)
    changes: list[OrderChange] = field(default_factory=list)
    enrolled: int = 0  # supervision rows created for newly registered devices
    checked: int = 0  # rows looked at (deadlines due, offline, back, power)

    @property
    def busy(self) -> bool:
        return self.checked + self.enrolled > 0


def _event(kind: EventKind, device_id: str, now: datetime, **raw: Any) -> DeviceEvent:
    return DeviceEvent(device_id=device_id, kind=kind, at=now, source=SOURCE, raw=raw)


def enroll(session: Session, *, now: datetime, limit: int) -> int:
    """Give registered devices without one a deadline: from their last message if any, else
    from now (a new device gets a full interval to speak)."""
    rows = []
    for d in store.unsupervised(session, limit=limit):
        profile = profile_for(d.kind, d.model)
        rows.append({"device_id": d.device_id, "deadline_at": deadline(d.last_seen or now, profile), "state": "ok",
                     "updated_at": now})
    store.add(session, rows=rows)
    return len(rows)


def poll(session: Session, *, now: datetime, limit: int = 2000, up_since: datetime | None = None) -> Findings:
    """One pass; the caller commits. Each step reads at most ``limit`` rows.

    ``up_since``: when this gateway started. A device is not blamed for the gateway's own
    downtime: until a full interval + grace has passed since the start, a missed deadline is
    moved to that point instead of opening a ticket (what the device sent meanwhile may still
    be on its way from the broker)."""
    found = Findings(enrolled=enroll(session, now=now, limit=limit))
    moved: list[dict[str, Any]] = []  # seen since: the deadline moves on
    offline: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []  # a sample of the readings when a deadline comes round
    sampled: list[dict[str, Any]] = []
    for d in store.due(session, now=now, limit=limit):
        found.checked += 1
        if d.last_seen is not None and (d.sampled_at is None or now - d.sampled_at >= HISTORY_EVERY):
            history.append({"device_id": d.device_id, "at": now, "battery": d.battery, "linkquality": d.linkquality,
                            "availability": d.availability})
            sampled.append({"b_device_id": d.device_id, "sampled_at": now})
        profile = profile_for(d.kind, d.model)
        next_deadline = deadline(d.last_seen, profile) if d.last_seen else None
        if up_since is not None and deadline(up_since, profile) > now:
            next_deadline = max(next_deadline or now, deadline(up_since, profile))
        if next_deadline is not None and next_deadline > now:
            moved.append({"b_device_id": d.device_id, "deadline_at": next_deadline, "updated_at": now})
        else:
            offline.append({"b_device_id": d.device_id, "state": "offline", "offline_since": now,
                            "offline_reason": "missed_deadline", "updated_at": now})
            found.events.append(_event(EventKind.DEVICE_OFFLINE, d.device_id, now, reason="missed_deadline",
                                       last_seen=d.last_seen.isoformat() if d.last_seen else None,
                                       deadline=d.deadline_at.isoformat()))
    missed = {row["b_device_id"] for row in offline}
    for d in store.said_offline(session, limit=limit):
        found.checked += 1
        if d.device_id in missed:
            continue
        offline.append({"b_device_id": d.device_id, "state": "offline", "offline_since": now,
                        "offline_reason": "availability", "updated_at": now})
        found.events.append(_event(EventKind.DEVICE_OFFLINE, d.device_id, now, reason="availability"))
    back: list[dict[str, Any]] = []
    for d in store.heard_again(session, limit=limit):
        found.checked += 1
        back.append({"b_device_id": d.device_id, "state": "ok", "offline_since": None, "offline_reason": None,
                     "deadline_at": deadline(d.last_seen, profile_for(d.kind, d.model)), "updated_at": now})
        found.events.append(_event(EventKind.DEVICE_ONLINE, d.device_id, now, last_seen=d.last_seen.isoformat(),
                                   offline_since=d.offline_since.isoformat() if d.offline_since else None))
    timers: list[dict[str, Any]] = []
    for d in store.power_changes(session, now=now, limit=limit):
        found.checked += 1
        if d.power == "lost" and d.power_alarm_at is None:
            due_at = power_alarm_at(d.device_id, d.power_changed_at or now)
            timers.append({"b_device_id": d.device_id, "power_alarm_at": due_at,
                           "power_alarmed_at": d.power_alarmed_at})
        elif d.power == "lost":  # the timer is due and power has not come back
            timers.append({"b_device_id": d.device_id, "power_alarm_at": None, "power_alarmed_at": now})
            found.events.append(_event(EventKind.POWER_OUTAGE, d.device_id, now,
                                       since=d.power_changed_at.isoformat() if d.power_changed_at else None))
        else:  # back before the delay ran out (or the timer is stale): nothing to report
            timers.append({"b_device_id": d.device_id, "power_alarm_at": None,
                           "power_alarmed_at": d.power_alarmed_at})
    for rows in (moved, offline, back, timers, sampled):
        store.update(session, rows=rows)
    store.add_history(session, rows=history)
    if found.events:
        found.changes = apply_events(session, found.events, now=now)
    return found
