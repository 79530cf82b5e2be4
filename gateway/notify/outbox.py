"""The notification outbox, and the channels it fans out to. Keyword-only, like
``gateway.storage.crud``; callers commit.

``enqueue`` runs inside the caller's transaction (the scheduler's, a dispatch's), so a notice
commits together with its cause or not at all. Senders take due rows with ``claim_due`` in a
short transaction of their own and record each outcome with ``mark_sent`` / ``mark_retry`` /
``mark_failed`` in another: the sending itself happens in between, outside any transaction.

Fan-out rule: a channel takes a notice when it is enabled and its ``audiences`` contain ``*`` or
one of the notice's audiences. A group channel (wecom, dingtalk, webhook) then gets one row; a
per-person channel (mqtt_user) gets one row per distinct user named in ``notice.users``
(per-person channels normally subscribe to ``*``: the caller has already chosen the people).

Claims: a claim moves due rows (``pending`` and due, or ``sending`` past their lease) to
``sending`` with a lease (``next_attempt_at = now + lease``) and counts the attempt. On
PostgreSQL the candidates are locked with FOR UPDATE SKIP LOCKED; everywhere the claim is a
conditional UPDATE, so where two senders read the same rows (SQLite) only one takes each. The
attempt number is the fence: an outcome is recorded only by the claim that holds it, so a
sender whose lease ran out (and whose row another sender took) cannot overwrite the newer
outcome. Delivery is therefore at least once: a sender that dies after sending but before
recording leaves a row that is sent again when its lease ends.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from gateway.clock import iso
from gateway.notify.backoff import DEFAULT_POLICY, RetryPolicy
from gateway.notify.messages import DEFAULT_TOPIC, KINDS, Notice, takes
from gateway.notify.models import Notification, NotifyChannel

_N: Any = Notification.__table__
_C: Any = NotifyChannel.__table__
CLAIMABLE = ("pending", "sending")
MAX_ERRORS_KEPT = 20
LOST = "lease expired: the sender was lost during this attempt, outcome unknown"


# --- channels -----------------------------------------------------------------------------------


def check_channel(channel: NotifyChannel) -> None:
    """Raises ValueError with a reason when the channel cannot work as configured."""
    name = (channel.name or "").strip()
    if not name or len(name) > 64:
        raise ValueError("a channel needs a name of 1 to 64 characters")
    kind = KINDS.get(channel.kind)
    if kind is None:
        raise ValueError(f"unknown channel kind {channel.kind!r}; known: {', '.join(sorted(KINDS))}")
    problem = kind.url_problem(channel.url or "")
    if problem:
        raise ValueError(f"channel {name!r}: url {problem}")
    audiences = channel.audiences
    if not isinstance(audiences, list) or not audiences or not all(isinstance(a, str) and a for a in audiences):
        raise ValueError(f"channel {name!r}: audiences must be a non-empty list of names (or ['*'])")


def save_channel(session: Session, *, channel: NotifyChannel, now: datetime | None = None) -> NotifyChannel:
    """Create or replace a channel (by name), after ``check_channel``. Keeps ``created_at``."""
    if channel.kind == "mqtt_user" and not channel.url:
        channel.url = DEFAULT_TOPIC
    check_channel(channel)
    row = session.get(NotifyChannel, channel.name)
    if row is None:
        if channel.created_at is None:
            channel.created_at = now
        session.add(channel)
        row = channel
    elif row is not channel:
        for name in ("kind", "url", "secret", "audiences", "enabled"):
            setattr(row, name, getattr(channel, name))
        session.add(row)
    session.flush()
    return row


def list_channels(session: Session) -> Sequence[NotifyChannel]:
    return session.exec(select(NotifyChannel).order_by(col(NotifyChannel.name))).all()


def get_channel(session: Session, *, name: str) -> NotifyChannel | None:
    return session.get(NotifyChannel, name)


def delete_channel(session: Session, *, name: str) -> bool:
    """Remove a channel. Rows still queued for it fail when a sender reaches them."""
    row = session.get(NotifyChannel, name)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


# --- enqueue ------------------------------------------------------------------------------------


def _unique(items: Sequence[str]) -> list[str]:
    return [u for u in dict.fromkeys(items) if u]


def enqueue(session: Session, *, notice: Notice, now: datetime, only: str | None = None) -> int:
    """Write one outbox row per (channel, recipient) that takes ``notice``, due now, in the
    caller's transaction (no commit). ``only``: that channel alone (a test message). Answers
    how many rows were written."""
    return enqueue_many(session, notices=[notice], now=now, only=only)


def enqueue_many(session: Session, *, notices: Sequence[Notice], now: datetime, only: str | None = None) -> int:
    """``enqueue`` for several notices: the channels read once, the rows written in one statement."""
    if not notices:
        return 0
    query = select(NotifyChannel).where(col(NotifyChannel.enabled).is_(True))
    if only is not None:
        query = query.where(NotifyChannel.name == only)
    channels = session.exec(query).all()
    rows: list[dict[str, Any]] = []
    for notice in notices:
        for channel in channels:
            kind = KINDS.get(channel.kind)
            if kind is None or not takes(channel.audiences or (), notice.audiences):
                continue
            for recipient in _unique(notice.users) if kind.per_person else [""]:
                rows.append({
                    "channel": channel.name, "recipient": recipient, "order_id": notice.order_id,
                    "kind": notice.kind, "payload": kind.build(notice, recipient), "status": "pending",
                    "attempts": 0, "next_attempt_at": now, "last_error": None, "errors": [], "claimed_by": None,
                    "created_at": now, "sent_at": None,
                })
    if rows:
        session.connection().execute(sa.insert(_N), rows)
    return len(rows)


# --- claims and outcomes ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A claimed row with what is needed to send it (its channel read at claim time)."""

    id: int
    attempt: int  # this claim's attempt number (1-based): the fence for recording its outcome
    channel: str
    kind: str | None  # None: the channel no longer exists
    url: str
    secret: str | None
    enabled: bool
    recipient: str
    payload: dict[str, Any]
    errors: tuple[dict[str, Any], ...]
    reclaimed: bool  # the previous claim's lease ran out: that attempt's outcome is unknown


def claim_due(session: Session, *, now: datetime, limit: int, lease: timedelta, instance: str = "",
              skip_channels: Collection[str] = (), skip_kinds: Collection[str] = ()) -> list[Outgoing]:
    """Claim up to ``limit`` rows due by ``now`` (oldest first) for ``lease``; rows of
    ``skip_channels`` and of channels of ``skip_kinds`` are left to others. The caller commits
    at once (the claim must be visible before sending)."""
    due = (
        sa.select(_N.c.id, _N.c.status)
        .where(_N.c.status.in_(CLAIMABLE), _N.c.next_attempt_at <= now)
        .order_by(_N.c.next_attempt_at, _N.c.id)
        .limit(limit)
    )
    if skip_channels:
        due = due.where(_N.c.channel.not_in(list(skip_channels)))
    if skip_kinds:
        due = due.where(_N.c.channel.not_in(sa.select(_C.c.name).where(_C.c.kind.in_(list(skip_kinds)))))
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True, of=_N)
    conn = session.connection()
    before = {row.id: row.status for row in conn.execute(due)}
    if not before:
        return []
    taken = set(conn.execute(
        sa.update(_N)
        .where(_N.c.id.in_(list(before)), _N.c.status.in_(CLAIMABLE), _N.c.next_attempt_at <= now)
        .values(status="sending", attempts=_N.c.attempts + 1, next_attempt_at=now + lease, claimed_by=instance)
        .returning(_N.c.id)
    ).scalars())
    if not taken:
        return []
    rows = conn.execute(
        sa.select(_N.c.id, _N.c.attempts, _N.c.channel, _N.c.recipient, _N.c.payload, _N.c.errors,
                  _C.c.kind, _C.c.url, _C.c.secret, _C.c.enabled)
        .select_from(_N.outerjoin(_C, _C.c.name == _N.c.channel))
        .where(_N.c.id.in_(list(taken)))
        .order_by(_N.c.next_attempt_at, _N.c.id)
    )
    return [
        Outgoing(id=r.id, attempt=r.attempts, channel=r.channel, kind=r.kind, url=r.url or "", secret=r.secret,
                 enabled=bool(r.enabled), recipient=r.recipient, payload=r.payload or {},
                 errors=tuple(r.errors or ()), reclaimed=before[r.id] == "sending")
        for r in rows
    ]


def _errors(item: Outgoing, now: datetime, error: str | None) -> list[dict[str, Any]]:
    errors = list(item.errors)
    if item.reclaimed:
        errors.append({"attempt": item.attempt - 1, "at": iso(now), "error": LOST})
    if error is not None:
        errors.append({"attempt": item.attempt, "at": iso(now), "error": error[:500]})
    return errors[-MAX_ERRORS_KEPT:]


def _finish(session: Session, item: Outgoing, **values: Any) -> bool:
    stmt = (
        sa.update(_N)
        .where(_N.c.id == item.id, _N.c.status == "sending", _N.c.attempts == item.attempt)
        .values(**values)
    )
    return session.connection().execute(stmt).rowcount == 1


def mark_sent(session: Session, *, item: Outgoing, now: datetime) -> bool:
    """Record a delivery. False when this claim no longer holds the row (its lease ran out and
    another sender took it). ``last_error`` is kept, for the record."""
    values: dict[str, Any] = {"status": "sent", "sent_at": now}
    if item.reclaimed:
        values.update(errors=_errors(item, now, None), last_error=LOST)
    return _finish(session, item, **values)


def mark_failed(session: Session, *, item: Outgoing, error: str, now: datetime) -> bool:
    """Give up on a row for good (no more attempts), keeping ``error``."""
    return _finish(session, item, status="failed", last_error=error[:1000], errors=_errors(item, now, error))


def mark_retry(session: Session, *, item: Outgoing, error: str, now: datetime,
               policy: RetryPolicy = DEFAULT_POLICY) -> str | None:
    """Record a failed attempt: the row is due again after the policy's backoff, or ``failed``
    when that was the last attempt. Answers the new status, or None when this claim no longer
    holds the row."""
    if policy.gives_up(item.attempt):
        return "failed" if mark_failed(session, item=item, error=error, now=now) else None
    done = _finish(session, item, status="pending", next_attempt_at=now + policy.delay(item.attempt),
                   last_error=error[:1000], errors=_errors(item, now, error))
    return "pending" if done else None


def release(session: Session, *, item: Outgoing, now: datetime) -> bool:
    """Give a claimed row back untried (the sender ran out of time for it): due at once, and
    the attempt not counted."""
    return _finish(session, item, status="pending", attempts=item.attempt - 1, next_attempt_at=now)


# --- reading and housekeeping -------------------------------------------------------------------


def list_notifications(session: Session, *, status: str | None = None, order_id: int | None = None,
                       limit: int = 100) -> Sequence[Notification]:
    """Newest first, for the admin pages and the API."""
    q = select(Notification).order_by(col(Notification.id).desc()).limit(limit)
    if status is not None:
        q = q.where(Notification.status == status)
    if order_id is not None:
        q = q.where(Notification.order_id == order_id)
    return session.exec(q).all()


def purge(session: Session, *, before: datetime) -> int:
    """Delete sent and failed rows created before ``before``. Answers how many."""
    stmt = sa.delete(_N).where(_N.c.status.in_(("sent", "failed")), _N.c.created_at < before)
    return session.connection().execute(stmt).rowcount
