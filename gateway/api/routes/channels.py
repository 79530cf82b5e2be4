"""Notification channels as data (admins), and the outbox as it stands (office staff)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from gateway.api.deps import Allowed, NowDep, SessionDep
from gateway.api.schemas import channels as schemas
from gateway.api.schemas.base import ExactRoute
from gateway.clock import iso
from gateway.domain.roles import Perm
from gateway.notify import outbox
from gateway.notify.messages import Notice
from gateway.notify.models import Notification, NotifyChannel
from gateway.services.accounts import Principal

router = APIRouter(tags=["notifications"], route_class=ExactRoute)

Admin = Annotated[Principal, Depends(Allowed(Perm.CHANNELS_WRITE))]
Office = Annotated[Principal, Depends(Allowed(Perm.USERS_READ))]


class ChannelIn(BaseModel):
    kind: Literal["mqtt_user", "wecom", "dingtalk", "webhook"]
    url: str = Field(default="", max_length=1000,
                     description="webhook URL; for mqtt_user a topic template with {user}")
    secret: str | None = Field(default=None, max_length=256,
                               description="DingTalk SEC… or the webhook's HMAC key; omitted: keep the stored one")
    audiences: list[str] = Field(default_factory=lambda: ["*"], min_length=1, max_length=20)
    enabled: bool = True


def channel_json(c: NotifyChannel) -> dict[str, Any]:
    return {"name": c.name, "kind": c.kind, "url": c.url, "has_secret": bool(c.secret),
            "audiences": list(c.audiences or ()), "enabled": c.enabled, "created_at": iso(c.created_at)}


def notification_json(n: Notification) -> dict[str, Any]:
    return {"id": n.id, "channel": n.channel, "recipient": n.recipient, "order_id": n.order_id, "kind": n.kind,
            "status": n.status, "attempts": n.attempts, "next_attempt_at": iso(n.next_attempt_at),
            "last_error": n.last_error, "created_at": iso(n.created_at), "sent_at": iso(n.sent_at)}


@router.get("/api/channels", response_model=list[schemas.Channel])
def list_channels(session: SessionDep, _: Admin) -> list[dict[str, Any]]:
    return [channel_json(c) for c in outbox.list_channels(session)]  # secrets are never shown


@router.put("/api/channels/{name}", response_model=schemas.Channel)
def put_channel(name: str, body: ChannelIn, session: SessionDep, now: NowDep, _: Admin) -> dict[str, Any]:
    existing = outbox.get_channel(session, name=name)
    secret = body.secret if body.secret is not None else (existing.secret if existing else None)
    channel = NotifyChannel(name=name, kind=body.kind, url=body.url, secret=secret or None,
                            audiences=body.audiences, enabled=body.enabled)
    try:
        row = outbox.save_channel(session, channel=channel, now=now)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    session.commit()
    return channel_json(row)


@router.delete("/api/channels/{name}", response_model=schemas.Deleted)
def delete_channel(name: str, session: SessionDep, _: Admin) -> dict[str, bool]:
    if not outbox.delete_channel(session, name=name):
        raise HTTPException(404, f"no channel {name!r}")
    session.commit()
    return {"deleted": True}


@router.post("/api/channels/{name}/test", response_model=schemas.Queued)
def test_channel(name: str, session: SessionDep, now: NowDep, principal: Admin) -> dict[str, int]:
    """Queue a test message on one channel (to the admin, for per-person channels)."""
    channel = outbox.get_channel(session, name=name)
    if channel is None:
        raise HTTPException(404, f"no channel {name!r}")
    notice = Notice(kind="test", order_id=None, title="Shewu 测试 test",
                    text=f"测试消息 test message from {principal.actor}", audiences=tuple(channel.audiences or ("*",)),
                    users=(principal.name,))
    n = outbox.enqueue(session, notice=notice, now=now, only=name)
    if n == 0:
        raise HTTPException(409, f"channel {name!r} is disabled")
    session.commit()
    return {"queued": n}


@router.get("/api/notifications", response_model=list[schemas.Notification])
def list_notifications(
    session: SessionDep, _: Office,
    status: Literal["pending", "sending", "sent", "failed"] | None = None,
    order_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return [notification_json(n) for n in outbox.list_notifications(session, status=status, order_id=order_id,
                                                                     limit=limit)]
