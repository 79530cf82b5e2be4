"""Escalation and dispatch reach people: the rota says who is on duty, the ladder step and the
assignment are queued in the transaction that causes them, and the sender delivers them to a
local HTTP receiver and to per-person MQTT topics on a real Mosquitto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from device_adapters.events import DeviceEvent, EventKind
from gateway.app import create_app
from gateway.broker import Mosquitto
from gateway.config import Settings
from gateway.notify.dispatcher import NotifySender
from gateway.notify.senders import PahoPublisher
from gateway.services.events import apply_events
from gateway.storage.db import session
from tests.accounts import bearer, user_token
from tests.fakes import FakeClock
from tests.http_receiver import Receiver
from tests.test_notify_channels import subscribe, wait_until

T0 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Asia/Shanghai


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def client(db_url: str, clock: FakeClock) -> Iterator[TestClient]:
    settings = Settings(db_url=db_url, ingest=False, scheduler_interval=0, public_url="http://shewu.test")
    with TestClient(create_app(settings, clock=clock)) as c:
        engine = c.app.state.runtime.engine  # type: ignore[attr-defined]
        c.headers.update(bearer(user_token(engine, "boss", "admin")))
        user_token(engine, "duty", "dispatcher", phone="13800000001")
        user_token(engine, "night", "dispatcher")
        user_token(engine, "chen", "dispatcher")
        user_token(engine, "wang", "technician", skills=["elderly_care"])
        day = [{"weekday": d, "start": "08:00", "end": "20:00", "user": "duty", "duty": "dispatcher"} for d in range(7)]
        night = [{"weekday": d, "start": "20:00", "end": "08:00", "user": "night", "duty": "dispatcher"}
                 for d in range(7)]
        lead = [{"weekday": d, "start": "00:00", "end": "24:00", "user": "chen", "duty": "leader"} for d in range(7)]
        assert c.put("/api/rota/weekly", json={"shifts": day + night + lead}).status_code == 200
        yield c


def sos(client: TestClient) -> int:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with session(runtime.engine) as s:
        [change] = apply_events(s, [DeviceEvent(device_id="sos-1", kind=EventKind.SOS, at=runtime.clock(),
                                                source="native")], now=runtime.clock())
        s.commit()
    return change.order_id


def test_escalation_and_assignment_reach_the_people_on_duty(client: TestClient, clock: FakeClock,
                                                           receiver: Receiver, broker: Mosquitto) -> None:
    r = client.put("/api/channels/oncall-hook", json={"kind": "webhook", "url": f"{receiver.base}/hook",
                                                      "secret": "s3cret", "audiences": ["oncall_team"]})
    assert r.status_code == 200 and r.json()["has_secret"] and "secret" not in r.json()
    assert {c["name"] for c in client.get("/api/channels").json()} == {"personal-mqtt", "oncall-hook"}
    assert client.get("/api/oncall").json()["dispatchers"][0]["user"] == "duty"
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    oid = sos(client)
    assert [f.step for f in runtime.scheduler.run_once()[0]] == ["raised"]  # told at once, not only the board
    raised = client.get("/api/notifications", params={"order_id": oid}).json()
    assert sorted((n["channel"], n["recipient"]) for n in raised) == [
        ("oncall-hook", ""), ("personal-mqtt", "chen"), ("personal-mqtt", "duty")]  # the team on duty now
    clock.now = T0 + timedelta(seconds=61)
    assert [f.step for f in runtime.scheduler.run_once()[0]] == ["ack_overdue"]
    queued = client.get("/api/notifications", params={"order_id": oid}).json()
    assert len(queued) == 6 and {n["status"] for n in queued} == {"pending"}

    sub, got = subscribe(broker, "shewu/v1/notify/#")
    publisher = PahoPublisher(broker.url, "test-notify").start(wait=5)
    sender = NotifySender(engine=runtime.engine, clock=clock, publish_mqtt=publisher.publish, instance="t")
    try:
        assert sender.run_once() == 6
        wait_until(lambda: len(got) == 4)
        assert {m.topic for m in got} == {"shewu/v1/notify/duty", "shewu/v1/notify/chen"}
        hooks = receiver.on("/hook")
        assert sorted(h.json()["data"]["step"] for h in hooks) == ["ack_overdue", "raised"]
        [hook] = [h for h in hooks if h.json()["data"]["step"] == "ack_overdue"]
        body = hook.json()
        assert body["data"]["order_id"] == oid and body["data"]["step"] == "ack_overdue"
        assert "X-Shewu-Signature" in hook.headers
        assert body["data"]["url"] == f"http://shewu.test/#order-{oid}"
        assert {n["status"] for n in client.get("/api/notifications", params={"order_id": oid}).json()} == {"sent"}

        # Dispatch: the technician is told on his own topic, in the same transaction as the dispatch.
        got.clear()
        assert client.post(f"/api/orders/{oid}/dispatch", json={"technician": "wang"}).status_code == 200
        assert sender.run_once() == 1
        wait_until(lambda: len(got) == 1)
        assert got[0].topic == "shewu/v1/notify/wang"
        message = json.loads(got[0].payload)
        assert message["kind"] == "assignment" and message["data"]["order_id"] == oid
    finally:
        publisher.stop()
        sub.loop_stop()
        sub.disconnect()
    text = client.get("/metrics").text
    assert "shewu_notifications_sent_total" in text


def test_at_night_the_night_dispatcher_is_told(client: TestClient, clock: FakeClock) -> None:
    clock.now = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 23:00 local
    oid = sos(client)
    clock.now += timedelta(minutes=3)
    client.app.state.runtime.scheduler.run_once()  # type: ignore[attr-defined]
    queued = client.get("/api/notifications", params={"order_id": oid}).json()
    by_recipient: dict[str, int] = {}
    for n in queued:
        by_recipient[n["recipient"]] = by_recipient.get(n["recipient"], 0) + 1
    # raised and ack_overdue → night + chen; ack_overdue_leader and dispatch_overdue → chen
    assert by_recipient == {"night": 2, "chen": 4}


def test_channels_are_admin_data_and_checked(client: TestClient) -> None:
    bad = client.put("/api/channels/x", json={"kind": "dingtalk", "url": "not a url"})
    assert bad.status_code == 422
    client.put("/api/channels/ding", json={"kind": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=t",
                                           "secret": "SECabc"})
    client.put("/api/channels/ding", json={"kind": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=u"})
    [ding] = [c for c in client.get("/api/channels").json() if c["name"] == "ding"]
    assert ding["has_secret"] and ding["url"].endswith("=u")  # the secret is kept when not given again
    tech = bearer(user_token(client.app.state.runtime.engine, "li", "technician"))  # type: ignore[attr-defined]
    assert client.get("/api/channels", headers=tech).status_code == 403
    assert client.post("/api/channels/ding/test").json() == {"queued": 1}
    assert client.delete("/api/channels/ding").status_code == 200
