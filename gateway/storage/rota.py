"""The on-call rota in the database. Keyword-only, like ``crud``; callers commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col, delete, select

from gateway.storage.models import User
from gateway.storage.rota_models import RotaOverride, RotaShift


def list_shifts(session: Session) -> Sequence[RotaShift]:
    return session.exec(select(RotaShift).order_by(col(RotaShift.weekday), col(RotaShift.start_time),
                                                   col(RotaShift.duty), col(RotaShift.user_name),
                                                   col(RotaShift.id))).all()


def _lock(session: Session, table: str) -> None:
    """Serialize writers of a rota table until the transaction ends (readers go on), so that two
    replacements at once cannot interleave their deletes and inserts into a mixture. SQLite has
    one writer at a time anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(sa.text(f"LOCK TABLE {table} IN EXCLUSIVE MODE"))


def replace_shifts(session: Session, *, shifts: Iterable[RotaShift]) -> int:
    """The whole weekly plan becomes ``shifts``. Answers how many rows were written."""
    _lock(session, "rota_shifts")
    session.exec(delete(RotaShift))
    rows = list(shifts)
    session.add_all(rows)
    session.flush()
    return len(rows)


def list_overrides(session: Session, *, since: date | None = None, until: date | None = None,
                   days: Iterable[date] | None = None) -> Sequence[RotaOverride]:
    """Override rows, by date then time, for dates in [since, until] and/or among ``days``."""
    q = select(RotaOverride)
    if since is not None:
        q = q.where(col(RotaOverride.day) >= since)
    if until is not None:
        q = q.where(col(RotaOverride.day) <= until)
    if days is not None:
        q = q.where(col(RotaOverride.day).in_(list(days)))
    q = q.order_by(col(RotaOverride.day), col(RotaOverride.start_time), col(RotaOverride.duty),
                   col(RotaOverride.user_name), col(RotaOverride.id))
    return session.exec(q).all()


def replace_overrides(session: Session, *, day: date, overrides: Iterable[RotaOverride]) -> int:
    """The override rows of ``day`` become ``overrides`` (none: the date follows the weekly plan)."""
    _lock(session, "rota_overrides")
    session.exec(delete(RotaOverride).where(col(RotaOverride.day) == day))
    rows = list(overrides)
    session.add_all(rows)
    session.flush()
    return len(rows)


def users_named(session: Session, *, names: Iterable[str]) -> dict[str, User]:
    """The users among ``names`` that exist, by name."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    return {u.name: u for u in session.exec(select(User).where(col(User.name).in_(wanted))).all()}
