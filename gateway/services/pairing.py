"""Pairing sessions: start, look at, cancel; and, inside ingest's transaction, binding the next new
device heard to the waiting session's home."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from device_adapters.events import DeviceEvent
from gateway.clock import iso
from gateway.domain.pairing import DEFAULT_WINDOW, MAX_WINDOW, PAIRING_KINDS, first_new, presses, status_at
from gateway.storage import registry
from gateway.storage.models import Device, Home, PairingSession


class PairingError(ValueError):
    """A request the pairing rules refuse; the message says why."""


def start(session: Session, *, home_id: str, kind: str, by: str, now: datetime,
          window: timedelta = DEFAULT_WINDOW) -> PairingSession:
    if kind not in PAIRING_KINDS:
        raise PairingError(f"kind must be one of {', '.join(PAIRING_KINDS)}")
    if not timedelta(seconds=10) <= window <= MAX_WINDOW:
        raise PairingError("the window must be between 10 seconds and 10 minutes")
    if session.get(Home, home_id) is None:
        raise PairingError(f"home {home_id!r} not found")
    row = PairingSession(home_id=home_id, kind=kind, started_by=by, started_at=now, expires_at=now + window)
    session.add(row)
    session.flush()
    return row


def cancel(session: Session, *, row: PairingSession, now: datetime) -> PairingSession:
    if status_at(row.status, row.expires_at, now) != "waiting":
        raise PairingError(f"the session is {status_at(row.status, row.expires_at, now)}, not waiting")
    row.status = "cancelled"
    session.add(row)
    session.flush()
    return row


def as_json(row: PairingSession, now: datetime) -> dict[str, Any]:
    return {"id": row.id, "home_id": row.home_id, "kind": row.kind, "started_by": row.started_by,
            "started_at": iso(row.started_at), "expires_at": iso(row.expires_at),
            "status": status_at(row.status, row.expires_at, now), "device_id": row.device_id,
            "model": row.model, "heard": row.heard, "paired_at": iso(row.paired_at) if row.paired_at else None}


def bind_new_device(session: Session, events: list[DeviceEvent], *, now: datetime) -> str | None:
    """Called by ingest before applying a batch: if a pairing session is waiting, register the
    first new device heard in ``events`` in its home, with its kind, and answer its id. One
    small read per batch when nobody is pairing."""
    pairing = registry.waiting_pairing(session, now=now)
    if pairing is None:
        return None
    candidates = presses(events)
    new = registry.new_devices(session, device_ids={e.device_id for e in candidates}, heard_since=pairing.started_at)
    event = first_new(candidates, new)
    if event is None:
        return None
    heard = {"kind": event.kind.value, "source": event.source, "at": iso(event.at),
             "reading": {k: v for k, v in list(event.raw.items())[:20]}}
    if not registry.claim_pairing(session, pairing_id=pairing.id, device_id=event.device_id,
                                  model=event.model or "", heard=heard, now=now):
        return None  # another instance bound a device to it a moment ago
    home = session.get(Home, pairing.home_id)
    session.add(Device(device_id=event.device_id, home_id=pairing.home_id, model=(event.model or "")[:64],
                       kind=pairing.kind, resident=home.resident if home else "",
                       address=home.address if home else "", grid=home.grid if home else "",
                       created_at=now, updated_at=now))
    session.flush()
    return event.device_id
