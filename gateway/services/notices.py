"""Who is told: a fired ladder step or an assignment becomes a notice for the people concerned,
queued in the notification outbox in the same transaction as its cause (nothing lost).

Audiences resolve to people through the rota at the moment the step fires:
``oncall_team`` → the dispatchers and leaders on duty; ``duty_leader`` → the leaders on duty
(or, with none on duty, the dispatchers); ``dispatcher`` → the dispatchers on duty;
``property_team`` → the technician assigned, if any. Group channels (WeCom, DingTalk, webhooks)
take notices by audience name, whoever the people are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from gateway.domain.ladders import Audience, Step
from gateway.notify import outbox
from gateway.notify.messages import assignment_notice, escalation_notice
from gateway.notify.models import NotifyChannel
from gateway.services.rota import on_call
from gateway.storage import accounts
from gateway.storage.models import Order


@dataclass(frozen=True, slots=True)
class Notifier:
    time_zone: ZoneInfo
    base_url: str = ""  # for links in messages, e.g. http://shewu.example:8080

    def people(self, session: Session, *, audiences: tuple[Audience, ...], order: Any, now: datetime) -> list[str]:
        duty = on_call(session, now=now, tz=self.time_zone)
        named: list[str] = []
        for audience in audiences:
            match audience:
                case Audience.ONCALL_TEAM:
                    named += duty.team
                case Audience.DUTY_LEADER:
                    named += duty.leader_users
                case Audience.DISPATCHER:
                    named += [a.user for a in duty.dispatchers]
                case Audience.PROPERTY_TEAM:
                    named += [order.assignee] if order.assignee else []
        return list(dict.fromkeys(named))

    def _mobiles(self, session: Session, names: list[str]) -> tuple[str, ...]:
        users = (accounts.get_user(session, name=n) for n in names)
        return tuple(u.phone for u in users if u is not None and u.phone)

    def _link(self, order_id: int | None) -> str | None:
        return f"{self.base_url}/#order-{order_id}" if self.base_url and order_id is not None else None

    def on_step(self, session: Session, order: Any, step: Step, now: datetime) -> None:
        """The scheduler calls this for each ladder step it fires, inside its transaction."""
        users = self.people(session, audiences=step.audience, order=order, now=now)
        notice = escalation_notice(order, step, now=now, users=users, mobiles=self._mobiles(session, users),
                                   link=self._link(order.id))
        outbox.enqueue(session, notice=notice, now=now)

    def on_assigned(self, session: Session, order: Order, now: datetime) -> None:
        """Dispatch calls this inside its transaction: tell the person sent."""
        if not order.assignee:
            return
        notice = assignment_notice(order, technician=order.assignee,
                                   mobiles=self._mobiles(session, [order.assignee]),
                                   link=f"{self.base_url}/tech.html" if self.base_url else None)
        outbox.enqueue(session, notice=notice, now=now)


DEFAULT_CHANNEL = "personal-mqtt"


def seed_default_channel(session: Session, *, now: datetime) -> bool:
    """With no channel configured at all, add the per-person MQTT channel
    (``shewu/v1/notify/<user>``, every audience), so that a new installation tells people
    something. Admins disable it rather than delete it if they do not want it."""
    if outbox.list_channels(session):
        return False
    outbox.save_channel(session, channel=NotifyChannel(name=DEFAULT_CHANNEL, kind="mqtt_user", audiences=["*"]),
                        now=now)
    return True
