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
from gateway.services.escalation import ladder_rows
from gateway.services.pairing import bind_new_device
from gateway.storage import crud
from gateway.views import order_json

# A device's own clock is trusted for the alarm time only within this window before now
# (events held in a receiver's outbox arrive late, and their SLA clock should show it);
# anything older, or in the future, is taken as received now.
DEVICE_TIME_WINDOW = timedelta(hours=1)
GATEWAY_SOURCES = frozenset({"supervision", "inactivity"})


@dataclass(frozen=True, slots=True)
class OrderChange:
    order_id: int
    event: str  # "opened" | "repeat" | "updated"
    row: Any = None  # the order as this change left it (a row of the orders table), when known


def event_time(event: DeviceEvent, now: datetime) -> datetime:
    if now - DEVICE_TIME_WINDOW <= event.at <= now:
        return event.at
    return now


_AVAILABILITY = frozenset({"online", "offline"})
_READING_MAX = 1e15  # far beyond any battery % or link quality; what a float column holds exactly


def _reading(value: Any) -> float | None:
    """A number for a float column, or None (absent) for anything else: a string, a boolean, an
    integer too large for a float, NaN, infinity, or beyond ±1e15. The event's raw reading keeps the
    value as it came."""
    if value.__class__ is int:
        return float(value) if -_READING_MAX <= value <= _READING_MAX else None
    if value.__class__ is float and -_READING_MAX <= value <= _READING_MAX:  # False for NaN
        return value
    return None


def _status_row(rows: dict[str, dict[str, Any]], event: DeviceEvent, now: datetime) -> None:
    """Fold one event into its device's row for this batch; the newest reading wins."""
    seen = event_time(event, now)
    row = rows.get(event.device_id)
    if row is None:
        row = rows[event.device_id] = {"device_id": event.device_id, "last_seen": seen, "messages": 0}
    row["messages"] += 1
    if event.kind is EventKind.ACTIVITY and seen > row.get("last_activity_at", seen - DEVICE_TIME_WINDOW):
        row["last_activity_at"] = seen  # the latest activity, whatever order the batch brings them in
    if seen < row["last_seen"]:
        return
    row["last_seen"] = seen
    row["last_kind"] = event.kind.value
    raw = event.raw
    for name in ("battery", "linkquality"):
        value = _reading(raw.get(name))
        if value is not None:
            row[name] = value
    if event.kind is EventKind.AVAILABILITY and event.value.__class__ is str and event.value in _AVAILABILITY:
        row["availability"] = event.value
    else:
        row["availability"] = "online"  # it just spoke
    if event.kind is EventKind.POWER_LOST:
        row["power"] = "lost"
    elif event.kind is EventKind.POWER_RESTORED:
        row["power"] = "ok"


def _timeline_reading(event: DeviceEvent) -> dict[str, Any]:
    return {
        "event": event.kind.value,
        "source": event.source,
        "device_time": event.at.isoformat(),
        "reading": event.raw,
        **({"event_id": event.event_id} if event.event_id else {}),
    }


class _Batch:
    """What one batch's alarm events share: their devices' homes and their timeline rows,
    read and written once per batch rather than once per event."""

    def __init__(self, session: Session, now: datetime, homes: dict[str, Any]) -> None:
        self.session = session
        self.now = now
        self.homes = homes
        self.timeline: list[dict[str, Any]] = []
        self.steps: list[dict[str, Any]] = []  # escalation ladders of the orders opened

    def note(self, order_id: int, event: DeviceEvent, action: str, note: str | None = None) -> None:
        self.timeline.append({
            "order_id": order_id, "at": self.now, "actor": f"device:{event.device_id}", "action": action,
            "note": note, "data": _timeline_reading(event),
        })

    def open_or_count(self, event: DeviceEvent, rule: OpenOrder) -> OrderChange:
        key = open_key(event.device_id, rule.order_kind)
        at = event_time(event, self.now)
        while True:
            row = crud.count_repeat_on_open_order(self.session, open_key=key, at=at)
            if row is not None:
                self.note(row.id, event, "repeat")
                return OrderChange(row.id, "repeat", row)
            home = self.homes.get(event.device_id)
            priority, t = rule.for_device(home.kind if home else None)
            row = crud.insert_order_unless_open(self.session, values={
                "kind": rule.order_kind,
                "category": rule.category.value,
                "priority": priority.value,
                "status": initial_status(rule.category).value,
                "device_id": event.device_id,
                "unregistered": home is None,
                "resident": home.resident if home else "",
                "address": home.address if home else "",
                "grid": home.grid if home else "",
                "open_key": key,
                "opened_at": at,
                "ack_due_at": at + t.ack if t.ack is not None else None,
                "onsite_due_at": at + t.onsite,
                "at_risk_at": at + t.at_risk,
                "event_count": 1,
                "last_event_at": at,
            })
            if row is None:
                continue  # another instance opened it a moment ago: count on theirs
            self.note(row.id, event, "opened", None if home else "device not in the registry")
            self.steps.extend(ladder_rows(row.id, rule.order_kind, at, priority.value))
            return OrderChange(row.id, "opened", row)

    def note_on_order(self, event: DeviceEvent, rule: NoteOnOrder) -> OrderChange | None:
        order_id = crud.active_order_id(self.session, open_key=open_key(event.device_id, rule.order_kind))
        if order_id is None:
            return None
        self.note(order_id, event, event.kind.value)
        return OrderChange(order_id, "updated")


def is_alarm(kind: EventKind) -> bool:
    """Does an event of this kind raise, count on or touch an order (rather than only tell
    what a device is up to)?"""
    return route(kind) is not Effect.DEVICE_STATUS


def apply_events(session: Session, events: list[DeviceEvent], *, now: datetime) -> list[OrderChange]:
    bind_new_device(session, events, now=now)  # an installer pairing: the new device joins its home first
    status_rows: dict[str, dict[str, Any]] = {}
    alarms: list[tuple[DeviceEvent, OpenOrder | NoteOnOrder]] = []
    for event in events:
        if event.source not in GATEWAY_SOURCES:  # the gateway's own findings are not the device speaking
            _status_row(status_rows, event, now)
        rule = route(event.kind)
        if rule is not Effect.DEVICE_STATUS:
            alarms.append((event, rule))  # type: ignore[arg-type]
    changes: list[OrderChange] = []
    if alarms:
        fresh = crud.claim_event_ids(session, event_ids=[e.event_id for e, _ in alarms if e.event_id], at=now)
        homes = crud.device_homes(session, device_ids={e.device_id for e, r in alarms if isinstance(r, OpenOrder)})
        batch = _Batch(session, now, homes)
        for event, rule in alarms:
            if event.event_id:
                if event.event_id not in fresh:
                    continue  # an exact redelivery: already applied
                fresh.discard(event.event_id)  # and a second copy in this very batch is one too
            if isinstance(rule, OpenOrder):
                changes.append(batch.open_or_count(event, rule))
            else:
                change = batch.note_on_order(event, rule)
                if change is not None:
                    changes.append(change)
        crud.append_timeline_rows(session, rows=batch.timeline)
        crud.add_escalation_steps(session, rows=batch.steps)
    crud.upsert_device_status(session, rows=status_rows.values())
    return changes


def live_changes(session: Session, changes: list[OrderChange], now: datetime) -> list[dict[str, Any]]:
    """Each change with the order as it left it, for the live feed; rows the changes did not
    bring (notes on an order) are read once. Call before committing or after, same session."""
    missing = {c.order_id for c in changes if c.row is None}
    rows = {row.id: row for row in crud.order_rows(session, ids=missing)} if missing else {}
    return [{"event": c.event, "order": order_json(c.row if c.row is not None else rows[c.order_id], now)}
            for c in changes]


# --- an alarm whose details cannot be stored (DESIGN invariant 8) -----------------------------

# The native id characters, and "/" (Zigbee2MQTT friendly names): ids the registry may hold.
_SAFE_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-/")
MINIMAL_NOTE = "details could not be stored"


def safe_text(text: str, limit: int) -> str:
    """Text any database column takes: no NUL, no lone surrogate, at most ``limit`` characters."""
    return text.replace("\x00", "\\u0000").encode("utf-8", "replace").decode("utf-8")[:limit]


def safe_device_id(device_id: str) -> str:
    kept = "".join(c for c in device_id if c in _SAFE_ID_CHARS)[:128]
    return kept or "unknown-device"


def open_minimal_order(session: Session, *, event: DeviceEvent, rule: OpenOrder, payload: bytes, error: str,
                       now: datetime) -> OrderChange:
    """Open (or count on) the order an alarm asks for with only what cannot fail: the device id,
    the kind, the raw payload and the reason its details were not stored (and the home, when the
    registry knows the device). Its ladder runs as any other's, so a person is told."""
    device_id = safe_device_id(event.device_id)
    key = open_key(device_id, rule.order_kind)
    data = {"event": event.kind.value, "source": safe_text(event.source, 32), "details_stored": False,
            "error": safe_text(error, 500), "payload": safe_text(payload.decode("utf-8", "replace"), 4000)}
    row = crud.count_repeat_on_open_order(session, open_key=key, at=now)
    action, change = "repeat", "repeat"
    if row is None:
        home = crud.device_homes(session, device_ids={device_id}).get(device_id)  # where to go, if known
        row = crud.insert_order_unless_open(session, values={
            "kind": rule.order_kind, "category": rule.category.value, "priority": rule.priority.value,
            "status": initial_status(rule.category).value, "device_id": device_id, "unregistered": home is None,
            "resident": home.resident if home else "", "address": home.address if home else "",
            "grid": home.grid if home else "", "open_key": key, "opened_at": now,
            "ack_due_at": now + rule.targets.ack if rule.targets.ack is not None else None,
            "onsite_due_at": now + rule.targets.onsite, "at_risk_at": now + rule.targets.at_risk,
            "event_count": 1, "last_event_at": now,
        })
        if row is None:  # another instance opened it a moment ago
            row = crud.count_repeat_on_open_order(session, open_key=key, at=now)
            if row is None:
                raise RuntimeError(f"open key {key} neither free nor held")
        else:
            action, change = "opened", "opened"
            crud.add_escalation_steps(session, rows=ladder_rows(row.id, rule.order_kind, now, rule.priority.value))
    crud.append_timeline_rows(session, rows=[{"order_id": row.id, "at": now, "actor": f"device:{device_id}",
                                              "action": action, "note": MINIMAL_NOTE, "data": data}])
    return OrderChange(row.id, change, row)


def alarm_rules(events: list[DeviceEvent]) -> list[tuple[DeviceEvent, OpenOrder]]:
    """The events among ``events`` that open an order, with their rule."""
    found = []
    for event in events:
        rule = route(event.kind)
        if isinstance(rule, OpenOrder):
            found.append((event, rule))
    return found
