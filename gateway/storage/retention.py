"""Deleting what retention lets go, a bounded batch per statement: ``DELETE … WHERE key IN
(SELECT key … LIMIT n)``, each in a short transaction of its own, so that no prune holds a lock
long in front of an alarm's commit. On PostgreSQL the rows are claimed with ``FOR UPDATE SKIP
LOCKED``: two instances pruning at once take different rows and neither waits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gateway.notify.models import Notification
from gateway.storage.models import ApiToken, DeadLetter, DeviceHistory, EscalationStep, SeenEvent

BATCH = 500


@dataclass(frozen=True, slots=True)
class Rule:
    table: Any
    key: Any  # the primary key column
    order: Any  # oldest first, along an index where there is one
    finished_before: Callable[[datetime], Any]  # the WHERE clause: prunable and older than the cutoff


def _rules() -> dict[str, Rule]:
    dl: Any = DeadLetter.__table__  # type: ignore[attr-defined]
    nt: Any = Notification.__table__  # type: ignore[attr-defined]
    es: Any = EscalationStep.__table__  # type: ignore[attr-defined]
    tk: Any = ApiToken.__table__  # type: ignore[attr-defined]
    dh: Any = DeviceHistory.__table__  # type: ignore[attr-defined]
    se: Any = SeenEvent.__table__  # type: ignore[attr-defined]
    return {
        "dead_letters": Rule(dl, dl.c.id, dl.c.received_at, lambda t: dl.c.received_at < t),
        "notifications": Rule(nt, nt.c.id, nt.c.id,
                              lambda t: sa.and_(nt.c.status.in_(("sent", "failed")), nt.c.created_at < t)),
        "escalation_steps": Rule(es, es.c.id, es.c.id,
                                 lambda t: sa.and_(es.c.status.in_(("fired", "void")), es.c.done_at < t)),
        "api_tokens": Rule(tk, tk.c.id, tk.c.id, lambda t: sa.or_(tk.c.revoked_at < t, tk.c.expires_at < t)),
        "device_history": Rule(dh, dh.c.id, dh.c.at, lambda t: dh.c.at < t),
        "seen_events": Rule(se, se.c.event_id, se.c.seen_at, lambda t: se.c.seen_at < t),
    }


RULES = _rules()
TABLES = tuple(RULES)


def prune_batch(conn: Connection, name: str, *, before: datetime, limit: int = BATCH) -> int:
    """Delete at most ``limit`` of ``name``'s finished rows older than ``before``; answer how many."""
    rule = RULES[name]
    keys = sa.select(rule.key).where(rule.finished_before(before)).order_by(rule.order).limit(limit)
    if conn.dialect.name == "postgresql":
        keys = keys.with_for_update(skip_locked=True)
    return conn.execute(sa.delete(rule.table).where(rule.key.in_(keys.scalar_subquery()))).rowcount or 0
