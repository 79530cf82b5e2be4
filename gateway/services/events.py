"""Apply decoded device events: update device status, open or count orders, add notes.

Called by ingest with one session per batch; the caller commits, then acknowledges the
messages. Every effect here is idempotent under redelivery: orders are keyed by their open
key, exact redeliveries of id-carrying events are dropped, device status only moves forward.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from device_adapters.events import DeviceEvent, EventKind
from gateway.domain.orders import initial_status
from gateway.domain.routing import Effect, NoteOnOrder, OpenOrder, open_key, route
from gateway.storage import crud
from gateway.storage.models import Order

# A device's own clock is trusted for the alarm time only within this window before now
# (events held in a receiver's outbox arrive late, and their SLA clock should show it);
# anything older, or in the future, is taken as received now.
DEVICE_TIME_WINDOW = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class OrderChange:
    order_id: int
    event: str  # "opened" | "repeat" | "updated"


def event_time(event: DeviceEvent, now: datetime) -> datetime:
    if now - DEVICE_TIME_WINDOW <= event.at <= now:
        return event.at
    return now


def _status_row(rows: dict[str, dict[str, Any]], event: DeviceEvent, now: datetime) -> None:
    """Fold one event into its device's row for this batch; the newest reading wins."""
    seen = event_time(event, now)
    row = rows.get(event.device_id)
    if row is None:
        row = rows[event.device_id] = {"device_id": event.device_id, "last_seen": seen, "messages": 0}
    row["messages"] += 1
    if seen < row["last_seen"]:
        return
    row["last_seen"] = seen
    row["last_kind"] = event.kind.value
    raw = event.raw
    for name in ("battery", "linkquality"):
        value = raw.get(name)
        if value.__class__ is int or value.__class__ is float:
            row[name] = float(value)
    if event.kind is EventKind.AVAILABILITY and isinstance(event.value, str):
        row["availability"] = event.value
    else:
        row["availability"] = "online"  # it just spoke


def _timeline_reading(event: DeviceEvent) -> dict[str, Any]:
    return {
        "event": event.kind.value,
        "source": event.source,
        "device_time": event.at.isoformat(),
        "reading": event.raw,
        **({"event_id": event.event_id} if event.event_id else {}),
    }


def _open_or_count(session: Session, event: DeviceEvent, rule: OpenOrder, now: datetime) -> OrderChange:
    key = open_key(event.device_id, rule.order_kind)
    at = event_time(event, now)
    actor = f"device:{event.device_id}"
    while True:
        order_id = crud.count_repeat_on_open_order(session, open_key=key, at=at)
        if order_id is not None:
            crud.add_timeline(session, order_id=order_id, at=now, actor=actor, action="repeat",
                              data=_timeline_reading(event))
            return OrderChange(order_id, "repeat")
        device = crud.get_device(session, device_id=event.device_id)
        t = rule.targets
        order = Order(
            kind=rule.order_kind,
            category=rule.category.value,
            priority=rule.priority.value,
            status=initial_status(rule.category).value,
            device_id=event.device_id,
            unregistered=device is None,
            resident=device.resident if device else "",
            address=device.address if device else "",
            grid=device.grid if device else "",
            open_key=key,
            opened_at=at,
            ack_due_at=at + t.ack if t.ack is not None else None,
            onsite_due_at=at + t.onsite,
            at_risk_at=at + t.at_risk,
            event_count=1,
            last_event_at=at,
        )
        if crud.insert_order_unless_open(session, order=order) is None:
            continue  # another instance opened it a moment ago: count on theirs
        assert order.id is not None
        note = "device not in the registry" if device is None else None
        crud.add_timeline(session, order_id=order.id, at=now, actor=actor, action="opened", note=note,
                          data=_timeline_reading(event))
        return OrderChange(order.id, "opened")


def _note_on_order(session: Session, event: DeviceEvent, rule: NoteOnOrder, now: datetime) -> OrderChange | None:
    order = crud.find_active_order(session, open_key=open_key(event.device_id, rule.order_kind))
    if order is None or order.id is None:
        return None
    crud.add_timeline(session, order_id=order.id, at=now, actor=f"device:{event.device_id}",
                      action=event.kind.value, data=_timeline_reading(event))
    return OrderChange(order.id, "updated")


def apply_events(session: Session, events: list[DeviceEvent], *, now: datetime) -> list[OrderChange]:
    status_rows: dict[str, dict[str, Any]] = {}
    changes: list[OrderChange] = []
    for event in events:
        _status_row(status_rows, event, now)
        rule = route(event.kind)
        if rule is Effect.DEVICE_STATUS:
            continue
        if event.event_id and not crud.mark_event_seen(session, event_id=event.event_id, at=now):
            continue  # an exact redelivery: already applied
        if isinstance(rule, OpenOrder):
            changes.append(_open_or_count(session, event, rule, now))
        elif isinstance(rule, NoteOnOrder):
            change = _note_on_order(session, event, rule, now)
            if change is not None:
                changes.append(change)
    crud.upsert_device_status(session, rows=status_rows.values())
    return changes
