"""While the database refuses ingest's writes, the on-call team is told without it: through the
channels and the rota as last read, straight to a real HTTP receiver and per-person MQTT."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gateway.notify import outbox
from gateway.notify.models import NotifyChannel
from gateway.notify.senders import HttpSender, Transports
from gateway.outage import OutageAlarm
from gateway.storage.db import session
from tests.http_receiver import Receiver

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def wait_for(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_an_outage_is_told_once_after_its_grace_and_its_end_once(engine: Engine, receiver: Receiver) -> None:
    with session(engine) as s:
        outbox.save_channel(s, channel=NotifyChannel(name="ops", kind="webhook", url=f"{receiver.base}/ops"))
        outbox.save_channel(s, channel=NotifyChannel(name="off", kind="webhook", url=f"{receiver.base}/off",
                                                     enabled=False))
        s.commit()
    published: list[tuple[str, bytes]] = []
    live: list[dict[str, Any]] = []
    alarm = OutageAlarm(engine=engine, clock=lambda: T0, zone=ZoneInfo("Asia/Shanghai"),
                        transports=Transports(http=HttpSender(), publish_mqtt=lambda t, p: published.append((t, p))),
                        send_live=live.append, grace_s=0.2)
    alarm.refresh()  # while the database works
    with engine.begin() as conn:  # then it goes: the snapshot is all there is
        conn.execute(sa.text("DROP TABLE notify_channels"))
    alarm.report(False, "OperationalError: no such table: escalation_steps")
    assert live[-1]["type"] == "system" and live[-1]["database"] == "down"
    time.sleep(0.3)
    alarm.report(False, "OperationalError: no such table: escalation_steps")
    alarm.report(False, "OperationalError: no such table: escalation_steps")
    wait_for(lambda: len(receiver.on("/ops")) >= 1)
    time.sleep(0.2)
    [down] = receiver.on("/ops")
    assert receiver.on("/off") == []
    body = down.json()
    assert "cannot be stored" in body["title"] and "escalation_steps" in body["text"]
    alarm.report(True)
    wait_for(lambda: len(receiver.on("/ops")) >= 2)
    assert "stored again" in receiver.on("/ops")[1].json()["title"]
    assert live[-1]["database"] == "up"


def test_a_short_failure_tells_the_board_but_wakes_nobody(engine: Engine, receiver: Receiver) -> None:
    with session(engine) as s:
        outbox.save_channel(s, channel=NotifyChannel(name="ops", kind="webhook", url=f"{receiver.base}/ops"))
        s.commit()
    live: list[dict[str, Any]] = []
    alarm = OutageAlarm(engine=engine, clock=lambda: T0, zone=ZoneInfo("Asia/Shanghai"),
                        transports=Transports(http=HttpSender()), send_live=live.append, grace_s=30)
    alarm.refresh()
    alarm.report(False, "database is locked")
    alarm.report(True)
    time.sleep(0.2)
    assert receiver.on("/ops") == [] and [m["database"] for m in live] == ["down", "up"]
