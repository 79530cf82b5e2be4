"""Notification channels and the outbox (``gateway.api.routes.channels``)."""

from __future__ import annotations

from pydantic import Field

from gateway.api.schemas.base import Out, Timestamp


class Channel(Out):
    name: str
    kind: str = Field(description="mqtt_user, wecom, dingtalk, webhook")
    url: str
    has_secret: bool = Field(description="a secret is stored (it is never shown)")
    audiences: list[str]
    enabled: bool
    created_at: Timestamp | None


class Deleted(Out):
    deleted: bool


class Queued(Out):
    queued: int = Field(description="notifications queued")


class Notification(Out):
    id: int
    channel: str
    recipient: str = Field(description="per-person channels: the user; else empty")
    order_id: int | None
    kind: str
    status: str = Field(description="pending, sending, sent, failed")
    attempts: int
    next_attempt_at: Timestamp
    last_error: str | None
    created_at: Timestamp
    sent_at: Timestamp | None
