"""Notifications end to end: ``enqueue`` in a transaction → ``NotifySender.run_once`` → a real
HTTP receiver (WeCom, DingTalk and webhook formats) or a real Mosquitto subscriber, with an
injected clock (retries fall due by moving the clock, nobody sleeps through a backoff). Every
database test runs on SQLite and, where it runs, PostgreSQL (the claims use SKIP LOCKED there)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

import gateway.notify.models  # noqa: F401  (registers the tables before the engine fixture creates the schema)
from gateway.broker import Mosquitto, free_port
from gateway.notify import outbox
from gateway.notify.backoff import RetryPolicy
from gateway.notify.dispatcher import NotifySender
from gateway.notify.messages import Notice, dingtalk_payload, webhook_payload, wecom_payload
from gateway.notify.models import Notification, NotifyChannel
from gateway.notify.senders import HttpSender, PahoPublisher
from gateway.storage.db import session
from tests.http_receiver import Behaviour, Receiver

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)

NOTICE = Notice(
    kind="escalation", order_id=None, title="P1 SOS #7",
    text="P1 SOS 3栋101 王秀英: not acknowledged after 60 s / 60秒未确认",
    audiences=("oncall_team",), users=("li", "wang"), data={"order_id": 7, "step": "ack_overdue"},
)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


# --- helpers --------------------------------------------------------------------------------------


def add_channel(engine: Engine, name: str, kind: str, url: str, *, secret: str | None = None,
                audiences: list[str] | None = None, enabled: bool = True) -> None:
    with session(engine) as s:
        outbox.save_channel(s, channel=NotifyChannel(name=name, kind=kind, url=url, secret=secret,
                                                     audiences=audiences or ["*"], enabled=enabled), now=T0)
        s.commit()


def enqueue(engine: Engine, clock: Clock, notice: Notice = NOTICE) -> int:
    with session(engine) as s:
        n = outbox.enqueue(s, notice=notice, now=clock())
        s.commit()
    return n


def rows(engine: Engine, channel: str | None = None) -> list[Notification]:
    with session(engine) as s:
        q = select(Notification).order_by(Notification.id)  # type: ignore[arg-type]
        if channel is not None:
            q = q.where(Notification.channel == channel)
        return list(s.exec(q).all())


@pytest.fixture
def make_sender(engine: Engine) -> Iterator[Callable[..., NotifySender]]:
    made: list[NotifySender] = []
    clients: list[HttpSender] = []

    def make(clock: Clock, **kw: Any) -> NotifySender:
        kw.setdefault("http", HttpSender(timeout=1.0))
        clients.append(kw["http"])
        sender = NotifySender(engine=engine, clock=clock, **kw)
        made.append(sender)
        return sender

    yield make
    for sender in made:
        sender.stop()
    for client in clients:
        client.close()


def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# --- each channel kind ----------------------------------------------------------------------------


def test_wecom(engine: Engine, receiver: Receiver, make_sender: Callable[..., NotifySender]) -> None:
    clock = Clock()
    add_channel(engine, "oncall-wecom", "wecom", f"{receiver.base}/cgi-bin/webhook/send?key=k-123",
                audiences=["oncall_team"])
    add_channel(engine, "property-wecom", "wecom", f"{receiver.base}/property", audiences=["property_team"])
    assert enqueue(engine, clock) == 1  # the property group does not take on-call notices

    sender = make_sender(clock)
    assert sender.run_once() == 1
    [req] = receiver.requests
    assert req.path == "/cgi-bin/webhook/send"
    assert req.query == {"key": ["k-123"]}
    assert req.headers["Content-Type"].startswith("application/json")
    assert req.json() == wecom_payload(NOTICE)
    assert req.json()["msgtype"] == "markdown"
    [row] = rows(engine)
    assert (row.status, row.attempts, row.sent_at, row.last_error, row.recipient) == ("sent", 1, T0, None, "")
    assert sender.sent == 1
    assert sender.run_once() == 0  # nothing is sent twice


def test_dingtalk_signed(engine: Engine, receiver: Receiver, make_sender: Callable[..., NotifySender]) -> None:
    clock = Clock()
    secret = "SEC0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    add_channel(engine, "leaders-ding", "dingtalk", f"{receiver.base}/robot/send?access_token=tok", secret=secret,
                audiences=["oncall_team", "duty_leader"])
    enqueue(engine, clock)
    clock.advance(2.5)  # the signature is made when sending, not when enqueueing
    make_sender(clock).run_once()

    [req] = receiver.requests
    assert req.path == "/robot/send"
    timestamp = req.query["timestamp"][0]
    assert int(timestamp) == int(clock.now.timestamp() * 1000)
    string_to_sign = f"{timestamp}\n{secret}".encode()
    expected = base64.b64encode(hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()).decode()
    assert req.query["sign"] == [expected]
    assert req.query["access_token"] == ["tok"]
    assert req.json() == dingtalk_payload(NOTICE)
    assert rows(engine)[0].status == "sent"


def test_webhook_body_and_signature(engine: Engine, receiver: Receiver,
                                    make_sender: Callable[..., NotifySender]) -> None:
    clock = Clock()
    add_channel(engine, "ops", "webhook", f"{receiver.base}/hook", secret="s3cret")
    add_channel(engine, "plain", "webhook", f"{receiver.base}/plain")
    enqueue(engine, clock)
    make_sender(clock).run_once()

    [signed] = receiver.on("/hook")
    assert signed.json() == webhook_payload(NOTICE, "")
    expected = hmac.new(b"s3cret", signed.body, hashlib.sha256).hexdigest()
    assert signed.headers["X-Shewu-Signature"] == f"sha256={expected}"
    assert signed.headers["X-Shewu-Timestamp"] == str(int(T0.timestamp() * 1000))
    row = rows(engine, "ops")[0]
    assert signed.headers["X-Shewu-Notification-Id"] == str(row.id)
    [plain] = receiver.on("/plain")
    assert "X-Shewu-Signature" not in plain.headers
    assert plain.json()["schema"] == "shewu.notify.v1"


# --- retries --------------------------------------------------------------------------------------


def test_retries_on_5xx_with_backoff_then_success(engine: Engine, receiver: Receiver,
                                                  make_sender: Callable[..., NotifySender]) -> None:
    clock = Clock()
    receiver.behaviour["/hook"] = Behaviour(fail_first=2)
    add_channel(engine, "ops", "webhook", f"{receiver.base}/hook")
    enqueue(engine, clock)
    sender = make_sender(clock)

    assert sender.run_once() == 1
    [row] = rows(engine)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, T0 + timedelta(seconds=5))
    assert row.last_error is not None and "HTTP 500" in row.last_error
    assert sender.run_once() == 0  # not due yet
    clock.advance(5)
    assert sender.run_once() == 1
    [row] = rows(engine)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 2, clock.now + timedelta(seconds=10))
    clock.advance(9.9)
    assert sender.run_once() == 0
    clock.advance(0.1)
    assert sender.run_once() == 1

    [row] = rows(engine)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 3, clock.now)
    assert row.last_error is not None and "HTTP 500" in row.last_error  # kept, for the record
    assert [(e["attempt"], "HTTP 500" in e["error"]) for e in row.errors] == [(1, True), (2, True)]
    assert len(receiver.on("/hook")) == 3
    assert (sender.sent, sender.retried, sender.failed) == (1, 2, 0)


def test_fails_for_good_after_max_attempts(engine: Engine, receiver: Receiver,
                                           make_sender: Callable[..., NotifySender]) -> None:
    clock = Clock()
    receiver.behaviour["/wecom"] = Behaviour(errcode=93000)  # HTTP 200, but WeCom says no
    add_channel(engine, "g", "wecom", f"{receiver.base}/wecom")
    enqueue(engine, clock)
    sender = make_sender(clock, policy=RetryPolicy(base_s=5, cap_s=60, max_attempts=3))

    for _ in range(3):
        assert sender.run_once() == 1
        clock.advance(60)
    assert sender.run_once() == 0
    [row] = rows(engine)
    assert (row.status, row.attempts, row.sent_at) == ("failed", 3, None)
    assert row.last_error == "WeCom: errcode 93000: no"
    assert [e["attempt"] for e in row.errors] == [1, 2, 3]
    assert (sender.sent, sender.retried, sender.failed) == (0, 2, 1)
    assert len(receiver.requests) == 3


def test_dead_and_slow_channels_do_not_hold_up_the_others(engine: Engine, receiver: Receiver,
                                                          make_sender: Callable[..., NotifySender]) -> None:
    clock = Clock()
    receiver.behaviour["/slow"] = Behaviour(delay=4.0)  # past the sender's 2 s timeout
    add_channel(engine, "dead", "webhook", f"http://127.0.0.1:{free_port()}/nobody-listens")
    add_channel(engine, "slow", "webhook", f"{receiver.base}/slow")
    add_channel(engine, "good", "wecom", f"{receiver.base}/good")
    enqueue(engine, clock)
    enqueue(engine, clock)  # two rows per channel
    sender = make_sender(clock, http=HttpSender(timeout=2.0))

    assert sender.run_once(wait_for_sends=False) == 6
    wait_until(lambda: all(r.status == "sent" for r in rows(engine, "good")))
    wait_until(lambda: all(r.status == "pending" for r in rows(engine, "dead")))  # refused at once
    assert {r.status for r in rows(engine, "slow")} == {"sending"}  # still waiting for its answer

    # While "slow" is in flight, a new notice: the good and dead channels' rows are claimed at
    # once, the slow channel's new row waits (no second job for a channel with one in flight).
    enqueue(engine, clock)
    assert sender.run_once(wait_for_sends=False) == 2
    wait_until(lambda: all(r.status == "sent" for r in rows(engine, "good")))
    assert len(receiver.on("/good")) == 3
    assert {r.status for r in rows(engine, "slow")} == {"sending", "pending"}

    wait_until(lambda: all(r.status != "sending" for r in rows(engine)))
    slow = rows(engine, "slow")
    assert [(r.status, r.attempts) for r in slow] == [("pending", 1), ("pending", 1), ("pending", 0)]
    assert slow[0].last_error is not None and "no answer within 2 s" in slow[0].last_error
    assert slow[1].last_error is not None and slow[1].last_error.startswith("not tried: ")
    assert len(receiver.on("/slow")) == 1  # one timeout per run, not one per row
    dead = rows(engine, "dead")
    assert [(r.status, r.attempts) for r in dead] == [("pending", 1)] * 3
    assert dead[0].last_error is not None and "ConnectError" in dead[0].last_error
    assert dead[1].last_error is not None and dead[1].last_error.startswith("not tried: ")


# --- the per-person MQTT topic --------------------------------------------------------------------


def subscribe(broker: Mosquitto, topic: str) -> tuple[mqtt.Client, list[mqtt.MQTTMessage]]:
    got: list[mqtt.MQTTMessage] = []
    subscribed = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="tech-app")
    client.on_message = lambda _c, _u, msg: got.append(msg)
    client.on_subscribe = lambda *_a: subscribed.set()
    client.on_connect = lambda c, *_a: c.subscribe(topic, qos=1)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    assert subscribed.wait(5)
    return client, got


def test_mqtt_per_person_topic(engine: Engine, broker: Mosquitto, make_sender: Callable[..., NotifySender]) -> None:
    clock = Clock()
    add_channel(engine, "app", "mqtt_user", "", audiences=["*"])  # the default topic template
    sub, got = subscribe(broker, "shewu/v1/notify/#")
    publisher = PahoPublisher(broker.url, "shewu-test-notify").start(wait=5)
    try:
        assert publisher.connected
        notice = Notice("assignment", 7, "派单 #7", "3栋101", audiences=("technician",), users=("li", "wang", "li"))
        assert enqueue(engine, clock, notice) == 2  # one per distinct person
        sender = make_sender(clock, publish_mqtt=publisher.publish)
        assert sender.run_once() == 2
        wait_until(lambda: len(got) == 2)
        by_topic = {m.topic: json.loads(m.payload) for m in got}
        assert set(by_topic) == {"shewu/v1/notify/li", "shewu/v1/notify/wang"}
        assert by_topic["shewu/v1/notify/li"]["recipient"] == "li"
        assert by_topic["shewu/v1/notify/li"]["title"] == "派单 #7"
        assert all(m.qos == 1 for m in got)
        assert [r.status for r in rows(engine)] == ["sent", "sent"]
    finally:
        publisher.stop()
        sub.loop_stop()
        sub.disconnect()


def test_mqtt_rows_wait_for_an_instance_with_a_publisher(engine: Engine,
                                                         make_sender: Callable[..., NotifySender]) -> None:
    clock = Clock()
    add_channel(engine, "app", "mqtt_user", "shewu/v1/notify/{user}")
    enqueue(engine, clock, Notice("assignment", 7, "t", "x", users=("li", "a/b")))
    assert make_sender(clock).run_once() == 0  # no publisher here: left for another instance
    published: list[tuple[str, bytes]] = []
    assert make_sender(clock, publish_mqtt=lambda t, p: published.append((t, p))).run_once() == 2
    assert [t for t, _ in published] == ["shewu/v1/notify/li"]
    [ok, bad] = rows(engine)
    assert ok.status == "sent"
    assert bad.status == "failed"  # a user name that is no topic level: retrying cannot help
    assert bad.last_error is not None and "MQTT topic level" in bad.last_error


def test_publisher_raises_when_the_broker_is_away() -> None:
    publisher = PahoPublisher(f"mqtt://127.0.0.1:{free_port()}", "shewu-test-nobroker", timeout=0.5).start()
    try:
        with pytest.raises(Exception, match="not connected"):
            publisher.publish("shewu/v1/notify/li", b"{}")
    finally:
        publisher.stop()


# --- the outbox: transactions, claims, leases -----------------------------------------------------


def test_enqueue_commits_with_its_cause_or_not_at_all(engine: Engine) -> None:
    clock = Clock()
    add_channel(engine, "ops", "webhook", "https://hooks.example/x")
    with session(engine) as s:
        assert outbox.enqueue(s, notice=NOTICE, now=clock()) == 1
        s.rollback()
    assert rows(engine) == []


def test_fan_out_rule(engine: Engine) -> None:
    clock = Clock()
    add_channel(engine, "app", "mqtt_user", "shewu/v1/notify/{user}")
    add_channel(engine, "leaders", "dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=t",
                audiences=["duty_leader"])
    add_channel(engine, "oncall", "wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
                audiences=["oncall_team", "duty_leader"])
    add_channel(engine, "off", "webhook", "https://hooks.example/x", enabled=False)
    assert enqueue(engine, clock) == 3
    assert sorted((r.channel, r.recipient) for r in rows(engine)) == [("app", "li"), ("app", "wang"), ("oncall", "")]
    assert all(r.status == "pending" and r.next_attempt_at == T0 for r in rows(engine))


def test_channel_crud(engine: Engine) -> None:
    add_channel(engine, "ops", "webhook", "https://hooks.example/a", secret="s")
    with session(engine) as s:
        outbox.save_channel(s, channel=NotifyChannel(name="ops", kind="webhook", url="https://hooks.example/b",
                                                     audiences=["duty_leader"]), now=T0 + timedelta(days=1))
        s.commit()
    with session(engine) as s:
        [ch] = outbox.list_channels(s)
        assert (ch.url, ch.secret, ch.audiences) == ("https://hooks.example/b", None, ["duty_leader"])
        assert ch.created_at == T0  # kept from the first save
        with pytest.raises(ValueError, match="unknown channel kind"):
            outbox.save_channel(s, channel=NotifyChannel(name="x", kind="fax", url="https://x"))
        assert outbox.delete_channel(s, name="ops")
        assert not outbox.delete_channel(s, name="ops")
        s.commit()
        assert outbox.list_channels(s) == []


def test_rows_of_a_deleted_or_disabled_channel_fail(engine: Engine, make_sender: Callable[..., NotifySender]) -> None:
    clock = Clock()
    add_channel(engine, "gone", "webhook", "https://hooks.example/a")
    add_channel(engine, "off", "webhook", "https://hooks.example/b")
    enqueue(engine, clock)
    with session(engine) as s:
        outbox.delete_channel(s, name="gone")
        s.commit()
    add_channel(engine, "off", "webhook", "https://hooks.example/b", enabled=False)
    assert make_sender(clock).run_once() == 2
    errors = {r.channel: (r.status, r.last_error) for r in rows(engine)}
    assert errors == {"gone": ("failed", "no channel 'gone' any more"), "off": ("failed", "channel 'off' is disabled")}


def test_a_lost_claim_is_retried_after_its_lease_and_fenced_out(engine: Engine, receiver: Receiver,
                                                                make_sender: Callable[..., NotifySender]) -> None:
    clock = Clock()
    add_channel(engine, "ops", "webhook", f"{receiver.base}/hook")
    enqueue(engine, clock)
    lease = timedelta(seconds=30)
    with session(engine) as s:  # an instance claims the row, then dies before sending
        [lost] = outbox.claim_due(s, now=clock(), limit=10, lease=lease, instance="gw-dead")
        s.commit()
    sender = make_sender(clock, lease=lease, instance="gw-live")
    clock.advance(29)
    assert sender.run_once() == 0  # still leased
    clock.advance(1)
    assert sender.run_once() == 1
    [row] = rows(engine)
    assert (row.status, row.attempts, row.claimed_by) == ("sent", 2, "gw-live")
    assert row.errors[0]["attempt"] == 1 and "lease expired" in row.errors[0]["error"]
    with session(engine) as s:  # the lost instance comes back: its outcome no longer counts
        assert not outbox.mark_sent(s, item=lost, now=clock())
        assert outbox.mark_retry(s, item=lost, error="late", now=clock()) is None
        s.commit()
    assert rows(engine)[0].status == "sent"
    assert len(receiver.requests) == 1


def test_rows_a_job_has_no_time_for_are_given_back_untried(engine: Engine, receiver: Receiver,
                                                           make_sender: Callable[..., NotifySender]) -> None:
    clock = Clock()
    receiver.behaviour["/hook"] = Behaviour(delay=0.3)
    add_channel(engine, "ops", "webhook", f"{receiver.base}/hook")
    enqueue(engine, clock)
    enqueue(engine, clock)
    # A job stops at half its lease (0.1 s here): the first row takes 0.3 s, the second is given back.
    sender = make_sender(clock, lease=timedelta(seconds=0.2))
    assert sender.run_once() == 2
    first, second = rows(engine)
    assert (first.status, first.attempts) == ("sent", 1)
    assert (second.status, second.attempts, second.next_attempt_at, second.errors) == ("pending", 0, T0, [])
    assert sender.run_once() == 1
    assert [(r.status, r.attempts) for r in rows(engine)] == [("sent", 1), ("sent", 1)]


def test_two_senders_send_each_row_once(engine: Engine, receiver: Receiver,
                                        make_sender: Callable[..., NotifySender]) -> None:
    clock = Clock()
    for i in range(8):
        add_channel(engine, f"hook-{i}", "webhook", f"{receiver.base}/hook/{i}")
    for _ in range(10):
        enqueue(engine, clock)  # 80 rows over 8 channels
    senders = [make_sender(clock, instance=f"gw-{n}", batch=7) for n in (1, 2)]
    barrier = threading.Barrier(2)

    def drain(sender: NotifySender) -> None:
        barrier.wait()
        idle = 0
        while idle < 3:
            idle = idle + 1 if sender.run_once() == 0 else 0

    threads = [threading.Thread(target=drain, args=(s,)) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    ids = [int(r.headers["X-Shewu-Notification-Id"]) for r in receiver.requests]
    assert len(ids) == len(set(ids)) == 80
    assert {(r.status, r.attempts) for r in rows(engine)} == {("sent", 1)}
    assert sum(s.sent for s in senders) == 80
    assert all(s.sent > 0 for s in senders), [s.sent for s in senders]  # both took part


def test_purge_and_list(engine: Engine, make_sender: Callable[..., NotifySender]) -> None:
    clock = Clock()
    add_channel(engine, "app", "mqtt_user", "shewu/v1/notify/{user}")
    enqueue(engine, clock)
    make_sender(clock, publish_mqtt=lambda _t, _p: None).run_once()
    enqueue(engine, clock, Notice("assignment", 9, "t", "x", users=("li",)))
    with session(engine) as s:
        assert [n.order_id for n in outbox.list_notifications(s, status="pending")] == [9]
        assert len(outbox.list_notifications(s)) == 3
        assert outbox.purge(s, before=T0 + timedelta(seconds=1)) == 2  # the sent ones; the pending stays
        s.commit()
    assert [r.status for r in rows(engine)] == ["pending"]
