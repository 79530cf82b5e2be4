"""The device registry's change counter and pairing sessions: keyword-only data access."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from gateway.storage.models import Device, DeviceStatus, PairingSession, RegistryVersion

_VERSION = RegistryVersion.__table__  # type: ignore[attr-defined]
_PAIRING = PairingSession.__table__  # type: ignore[attr-defined]
_DEV = Device.__table__  # type: ignore[attr-defined]
_STATUS = DeviceStatus.__table__  # type: ignore[attr-defined]
_READ_VERSION = sa.select(_VERSION.c.version).where(_VERSION.c.id == 1)


def bump_version(connection: sa.Connection) -> None:
    """Count one change of the registry, in the caller's transaction."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(_VERSION).values(id=1, version=1)
    connection.execute(stmt.on_conflict_do_update(index_elements=[_VERSION.c.id],
                                                  set_={"version": _VERSION.c.version + 1}))


def read_version(connection: sa.Connection) -> int:
    return int(connection.execute(_READ_VERSION).scalar_one_or_none() or 0)


def waiting_pairing(session: Session, *, now: datetime) -> sa.Row[Any] | None:
    """The oldest pairing session still waiting for its device."""
    stmt = (sa.select(_PAIRING).where(_PAIRING.c.status == "waiting", _PAIRING.c.expires_at > now)
            .order_by(_PAIRING.c.id).limit(1))
    return session.connection().execute(stmt).first()


def new_devices(session: Session, *, device_ids: Iterable[str], heard_since: datetime) -> set[str]:
    """Those of ``device_ids`` neither registered nor heard before ``heard_since``."""
    ids = set(device_ids)
    if not ids:
        return set()
    conn = session.connection()
    registered = set(conn.execute(sa.select(_DEV.c.device_id).where(_DEV.c.device_id.in_(ids))).scalars())
    heard = set(conn.execute(sa.select(_STATUS.c.device_id).where(
        _STATUS.c.device_id.in_(ids), _STATUS.c.last_seen < heard_since)).scalars())
    return ids - registered - heard


def claim_pairing(session: Session, *, pairing_id: int, device_id: str, model: str, heard: dict[str, Any],
                  now: datetime) -> bool:
    """Bind the session to a device, unless another instance did first."""
    result = session.connection().execute(
        sa.update(_PAIRING).where(_PAIRING.c.id == pairing_id, _PAIRING.c.status == "waiting")
        .values(status="paired", device_id=device_id, model=model[:64], heard=heard, paired_at=now))
    return bool(result.rowcount)


def expire_pairings(session: Session, *, now: datetime) -> int:
    result = session.connection().execute(
        sa.update(_PAIRING).where(_PAIRING.c.status == "waiting", _PAIRING.c.expires_at <= now)
        .values(status="expired"))
    return int(result.rowcount or 0)


def unregistered_heard(session: Session, *, limit: int = 200) -> list[sa.Row[Any]]:
    """Devices heard but not in the registry, the latest first, with what they last sent."""
    stmt = (sa.select(_STATUS).select_from(_STATUS.outerjoin(_DEV, _DEV.c.device_id == _STATUS.c.device_id))
            .where(_DEV.c.device_id.is_(None)).order_by(_STATUS.c.last_seen.desc()).limit(limit))
    return list(session.connection().execute(stmt))


@sa.event.listens_for(OrmSession, "before_flush")
def _count_registry_changes(session: OrmSession, _context: Any, _instances: Any) -> None:
    """Every ORM change of a device counts (API, CSV and Zigbee2MQTT imports, the demo)."""
    if any(isinstance(o, Device) for o in (*session.new, *session.dirty, *session.deleted)):
        bump_version(session.connection())
