"""Who is told: a fired ladder step or an assignment becomes a notice for the people concerned,
queued in the notification outbox in the same transaction as its cause (nothing lost).

Audiences resolve to people through the rota at the moment the step fires:
``oncall_team`` → the dispatchers and leaders on duty; ``duty_leader`` → the leaders on duty
(or, with none on duty, the dispatchers); ``dispatcher`` → the dispatchers on duty;
``property_team`` → the technician assigned, if any. Group channels (WeCom, DingTalk, webhooks)
take notices by audience name, whoever the people are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from gateway.domain.ladders import Audience, Step
from gateway.domain.rota import OnDuty
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

    def people(self, duty: OnDuty, *, audiences: tuple[Audience, ...], order: Any) -> list[str]:
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

    def _phones(self, session: Session, names: Iterable[str]) -> dict[str, str]:
        users = accounts.users_named(session, names=set(names))
        return {u.name: u.phone for u in users if u.phone}

    def _link(self, order_id: int | None) -> str | None:
        return f"{self.base_url}/#order-{order_id}" if self.base_url and order_id is not None else None

    def on_steps(self, session: Session, fired: list[tuple[Any, Step]], now: datetime) -> None:
        """The scheduler calls this with the ladder steps of one poll, inside its transaction:
        the rota, the people's phones and the channels are read once for all of them."""
        if not fired:
            return
        duty = on_call(session, now=now, tz=self.time_zone)
        people = [self.people(duty, audiences=step.audience, order=order) for order, step in fired]
        phones = self._phones(session, (n for names in people for n in names))
        notices = [
            escalation_notice(order, step, now=now, users=names, link=self._link(order.id),
                              mobiles=tuple(phones[n] for n in names if n in phones))
            for (order, step), names in zip(fired, people, strict=True)
        ]
        outbox.enqueue_many(session, notices=notices, now=now)

    def on_assigned(self, session: Session, order: Order, now: datetime) -> None:
        """Dispatch calls this inside its transaction: tell the person sent."""
        if not order.assignee:
            return
        phone = self._phones(session, [order.assignee]).get(order.assignee)
        notice = assignment_notice(order, technician=order.assignee, mobiles=(phone,) if phone else (),
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
