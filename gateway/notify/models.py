"""The notification tables: channels (configured as data) and the outbox.

A notification is a row written in the same transaction as its cause (an escalation step firing,
an order being assigned), so it is never lost; a sender delivers it afterwards and records the
outcome on the row (DESIGN invariants 1 and 3).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from gateway.storage.models import UTCDateTime, _ts


class NotifyChannel(SQLModel, table=True):
    """Where notices go. ``kind`` is a key of ``gateway.notify.messages.KINDS``: ``mqtt_user``
    (one message per person, ``url`` is the topic template with ``{user}``), ``wecom``,
    ``dingtalk`` (group robots; ``url`` is the robot's webhook) or ``webhook`` (our own JSON).
    ``audiences`` lists the audience names the channel takes (``*``: all)."""

    __tablename__ = "notify_channels"

    name: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)
    url: str = Field(default="", max_length=1000)
    secret: str | None = Field(default=None, max_length=256)  # DingTalk SEC..., or our webhook's HMAC key
    audiences: list[str] = Field(default_factory=lambda: ["*"], sa_column=Column(JSON, nullable=False))
    enabled: bool = True
    created_at: datetime | None = _ts()


class Notification(SQLModel, table=True):
    """One message to one channel (and, for per-person channels, one recipient): the outbox.

    ``status``: ``pending`` (due at ``next_attempt_at``) → ``sending`` (claimed by a sender,
    whose lease ends at ``next_attempt_at``; past it the row is claimable again) → ``sent``, or
    back to ``pending`` with a backoff, or ``failed`` after the last attempt. ``attempts`` counts
    the claims, and is the fence that lets only the latest claimant record an outcome."""

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=64, index=True)
    recipient: str = Field(default="", max_length=64)  # the user, for per-person channels
    order_id: int | None = Field(default=None, index=True)
    kind: str = Field(max_length=32)  # escalation | assignment | ...
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # the body, as sent
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_error: str | None = Field(default=None, max_length=1000)
    # Every failed attempt: [{"attempt": n, "at": iso, "error": "..."}], oldest first (capped).
    errors: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    claimed_by: str | None = Field(default=None, max_length=128)  # the instance of the last claim
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = _ts()
