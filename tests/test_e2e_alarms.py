"""End to end, with real parts: Mosquitto, a `shewu serve` process, SQLite (and PostgreSQL).

Nothing lost, nothing doubled: the gateway acknowledges a message only once its effect is
committed, and the database's unique open key keeps one order per open alarm.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import websockets

from gateway.broker import Mosquitto
from tests.databases import fresh_postgres, postgres_available
from tests.gateway_process import GatewayProcess, wait_until

pytestmark = pytest.mark.integration


@contextmanager
def publisher(url: str, *, client_id: str | None = None) -> Iterator[mqtt.Client]:
    host, port = url.removeprefix("mqtt://").split(":")
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or f"pub-{uuid.uuid4().hex[:8]}",
                         protocol=mqtt.MQTTv311, clean_session=False)
    client.max_inflight_messages_set(0)
    client.max_queued_messages_set(0)
    client.reconnect_delay_set(0.1, 1)
    client.connect(host, int(port))
    client.loop_start()
    try:
        yield client
    finally:
        client.loop_stop()
        client.disconnect()


def publish(client: mqtt.Client, topic: str, payload: bytes | str | dict) -> None:  # type: ignore[type-arg]
    data = json.dumps(payload) if isinstance(payload, dict) else payload
    client.publish(topic, data, qos=1).wait_for_publish(10)


def native_sos(device: str, msg_id: str | None = None) -> tuple[str, dict]:  # type: ignore[type-arg]
    return f"shewu/v1/{device}/event", {"v": 1, "id": msg_id or uuid.uuid4().hex, "kind": "sos", "data": {}}


def orders(gw: GatewayProcess, **params: object) -> list[dict]:  # type: ignore[type-arg]
    return gw.get("/api/orders", limit=1000, **params)  # type: ignore[no-any-return]


def test_z2m_sos_becomes_an_order_on_the_api_and_the_live_feed(gateway_server: GatewayProcess) -> None:
    gw = gateway_server
    assert gw.post("/api/devices", {"device_id": "3栋/101/SOS", "resident": "王秀英", "address": "3栋2单元101",
                                    "grid": "G1"}).status_code == 201

    async def run() -> dict:  # type: ignore[type-arg]
        async with websockets.connect(gw.live_url) as ws:
            snap = json.loads(await ws.recv())
            assert snap["type"] == "snapshot" and snap["orders"] == []
            with publisher(gw.mqtt_url) as pub:
                publish(pub, "zigbee2mqtt/3栋/101/SOS", {"action": "emergency", "battery": 90, "linkquality": 120})
                publish(pub, "zigbee2mqtt/3栋/101/SOS", {"action": "", "battery": 90, "linkquality": 120})
            msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
            return msg  # type: ignore[no-any-return]

    msg = asyncio.run(run())
    assert msg["type"] == "order" and msg["event"] == "opened"
    order = msg["order"]
    assert (order["kind"], order["priority"], order["resident"], order["device_id"]) == \
        ("sos", "P1", "王秀英", "3栋/101/SOS")
    detail = gw.get(f"/api/orders/{order['id']}")
    assert detail["timeline"][0]["action"] == "opened"
    health = wait_until(lambda: (h := gw.get("/healthz"))["timers"] and h, what="the scheduler's first poll")
    assert health["status"] == "ok"
    # the cleared action right after it raised nothing more
    wait_until(lambda: gw.metric("shewu_messages_in_total") >= 2, what="both messages processed")
    assert [o["event_count"] for o in orders(gw)] == [1]


def test_same_sos_twice_gives_one_order(gateway_server: GatewayProcess) -> None:
    gw = gateway_server
    topic, body = native_sos("elder-7-sos", "fixed-id-1")
    with publisher(gw.mqtt_url) as pub:
        publish(pub, topic, body)
        publish(pub, topic, body)  # an exact redelivery: same id
        publish(pub, "zigbee2mqtt/elder-8-sos", {"action": "emergency"})
        publish(pub, "zigbee2mqtt/elder-8-sos", {"action": "emergency"})  # pressed again
    wait_until(lambda: gw.metric("shewu_messages_in_total") >= 4, what="4 messages")
    counts = {o["device_id"]: o["event_count"] for o in orders(gw)}
    assert counts == {"elder-7-sos": 1, "elder-8-sos": 2}


def test_bad_input_is_dead_lettered_and_the_pipeline_keeps_going(gateway_server: GatewayProcess) -> None:
    gw = gateway_server
    with publisher(gw.mqtt_url) as pub:
        publish(pub, "shewu/v1/d1/event", b"not json {")
        publish(pub, "shewu/v1/d1/event", {"v": 1, "kind": 5})
        publish(pub, "shewu/v1/d1/event", {"v": 1, "kind": "explode"})
        publish(pub, "shewu/v1/d1/event", b"\xff\xfe")
        publish(pub, "shewu/v1/d1/event", b"{" + b" " * 70000 + b"}")
        topic, body = native_sos("after-garbage")
        publish(pub, topic, body)
    wait_until(lambda: orders(gw), what="the SOS after the garbage")
    dead = gw.get("/api/deadletters")
    reasons = sorted(d["reason"] for d in dead)
    assert len(reasons) == 5, reasons
    assert {"not_json", "not_utf8", "too_large", "unknown_kind"} <= set(reasons)
    big = next(d for d in dead if d["reason"] == "too_large")
    assert big["payload_size"] == 70002
    assert gw.metric("shewu_messages_in_total") == 6


def test_sos_sent_while_the_gateway_is_down_opens_exactly_one_order(
    gateway_factory: Callable[..., GatewayProcess],
) -> None:
    gw = gateway_factory(instance_id="gw-restart").start()  # the broker now holds its session
    gw.stop()
    topic, body = native_sos("elder-9-sos")
    with publisher(gw.mqtt_url) as pub:
        publish(pub, topic, body)
    gw.start()
    found = wait_until(lambda: orders(gw), what="the order from the queued SOS")
    assert [o["device_id"] for o in found] == ["elder-9-sos"]
    gw.stop()
    gw.start()  # a second restart does not replay it
    time.sleep(0.5)
    assert len(orders(gw)) == 1


def test_gateway_killed_before_commit_gives_exactly_one_order(
    gateway_factory: Callable[..., GatewayProcess], tmp_path: Path,
) -> None:
    db = tmp_path / "gw.db"
    gw = gateway_factory(instance_id="gw-kill", db_url=f"sqlite:///{db}").start()
    # Hold the database's write lock so the gateway receives the SOS but cannot commit it.
    blocker = sqlite3.connect(db, isolation_level=None, timeout=1)
    blocker.execute("BEGIN EXCLUSIVE")
    topic, body = native_sos("elder-10-sos")
    with publisher(gw.mqtt_url) as pub:
        publish(pub, topic, body)
    wait_until(lambda: gw.metric("shewu_messages_received_total") >= 1, what="the gateway to receive it")
    assert gw.metric("shewu_messages_in_total") == 0  # received, not committed
    gw.kill()
    blocker.execute("ROLLBACK")
    blocker.close()
    gw.start()
    found = wait_until(lambda: orders(gw), what="the redelivered SOS")
    time.sleep(0.5)
    assert [(o["device_id"], o["event_count"]) for o in orders(gw)] == [("elder-10-sos", 1)]
    assert found


def test_broker_restart_mid_run_loses_nothing(
    gateway_factory: Callable[..., GatewayProcess], broker: Mosquitto,
) -> None:
    gw = gateway_factory(instance_id="gw-broker-restart").start()
    total = 1000
    with publisher(gw.mqtt_url, client_id="pub-broker-restart") as pub:
        acked: set[int] = set()
        pub.on_publish = lambda _c, _u, mid, _rc, _p: acked.add(mid)
        mids = []
        for i in range(total):
            topic, body = native_sos(f"run-{i:04d}", f"run-{i}")
            # While the broker is away paho keeps the message and sends it after reconnecting.
            mids.append(pub.publish(topic, json.dumps(body), qos=1).mid)
            if i == total // 2:
                broker.restart()  # graceful: mosquitto saves sessions and queues
        wait_until(lambda: acked.issuperset(mids), timeout=60, what="all PUBACKs")
    got = wait_until(lambda: len(orders(gw)) == total and total, timeout=60,
                     what=f"{total} orders")
    devices = {o["device_id"] for o in orders(gw)}
    assert got == total and len(devices) == total
    assert sum(o["event_count"] for o in orders(gw)) == total
    assert gw.get("/api/deadletters") == []


async def collect_opened(live_url: str, want: int, into: set[str], ready: asyncio.Event) -> None:
    async with websockets.connect(live_url) as ws:
        json.loads(await ws.recv())  # snapshot
        ready.set()
        while len(into) < want:
            msg = json.loads(await ws.recv())
            if msg["type"] == "order" and msg["event"] == "opened":
                into.add(msg["order"]["device_id"])


@pytest.mark.postgres
def test_two_instances_on_one_shared_subscription_and_postgres_never_double(
    gateway_factory: Callable[..., GatewayProcess],
) -> None:
    """One order per alarm however the broker splits the messages, and a board on either
    instance sees every order (the live feed fans out between instances over MQTT)."""
    if not postgres_available():
        pytest.skip("PostgreSQL is not running")
    with fresh_postgres() as pg:
        a = gateway_factory(instance_id="gw-a", db_url=pg, shared_group="shewu").start()
        b = gateway_factory(instance_id="gw-b", db_url=pg, shared_group="shewu").start()
        devices, repeats = 40, 5
        seen_a: set[str] = set()
        seen_b: set[str] = set()

        async def run() -> None:
            ready_a, ready_b = asyncio.Event(), asyncio.Event()
            boards = asyncio.gather(collect_opened(a.live_url, devices, seen_a, ready_a),
                                    collect_opened(b.live_url, devices, seen_b, ready_b))
            await ready_a.wait()
            await ready_b.wait()

            def send() -> None:
                with publisher(a.mqtt_url) as pub:
                    for r in range(repeats):
                        for d in range(devices):
                            publish(pub, f"zigbee2mqtt/pair-{d}", {"action": "emergency", "seq": r})

            await asyncio.to_thread(send)
            await asyncio.wait_for(boards, 60)

        asyncio.run(run())
        wait_until(lambda: a.metric("shewu_messages_in_total") + b.metric("shewu_messages_in_total")
                   >= devices * repeats, timeout=60, what="all messages")
        assert a.metric("shewu_messages_in_total") > 0 and b.metric("shewu_messages_in_total") > 0
        result = orders(a)
        assert len(result) == devices
        assert all(o["event_count"] == repeats for o in result)
        expected = {f"pair-{d}" for d in range(devices)}
        assert seen_a == expected and seen_b == expected
        a.stop()
        b.stop()


def test_rtl433_leak_over_mqtt_opens_a_ticket(gateway_server: GatewayProcess) -> None:
    """rtl_433 as it publishes to MQTT (433 MHz Govee water sensor): the gateway subscribes by
    default and a leak becomes a repair ticket for the device rtl433/<model>/<id>."""
    gw = gateway_server
    with publisher(gw.mqtt_url) as pub:
        publish(pub, "rtl_433/raspberrypi/events",
                {"time": "2026-11-28 12:00:00", "model": "Govee-Water", "id": 56948, "event": "Water Leak",
                 "leak_num": 1, "mic": "PARITY"})
    found = wait_until(lambda: orders(gw, kind="leak"), what="the rtl_433 leak ticket")
    assert [(o["device_id"], o["priority"]) for o in found] == [("rtl433/Govee-Water/56948", "P2")]


def test_radio_and_zigbee_alarms_over_mqtt_open_their_orders(gateway_server: GatewayProcess) -> None:
    """Issue 9 through the broker: an Interlogix smoke alarm (rtl_433_tests
    tests/interlogix/05/smoke_detected_319.5M_250k.json, first line) is a P1 fire; rtl_433's stats line
    is not dead-lettered; a Zigbee device whose model the table does not know raising an alarm-named
    property no row reads is an unknown alarm (P2) for a person."""
    gw = gateway_server
    with publisher(gw.mqtt_url) as pub:
        publish(pub, "rtl_433/pi-433/events",
                {"time": "@0.133476s", "model": "Interlogix-Security", "subtype": "smoke", "id": "29cd45",
                 "battery_ok": 1, "switch1": "OPEN", "switch2": "OPEN", "switch3": "OPEN", "switch4": "CLOSED",
                 "switch5": "CLOSED", "raw_message": "a740a8"})
        publish(pub, "rtl_433/pi-433/events",
                {"time": "@1.048576s", "enabled": 191, "since": "2026-12-06T03:09:36",
                 "frames": {"count": 0, "fsk": 0, "events": 0}, "stats": []})
        publish(pub, "zigbee2mqtt/hall panel", {"smoke_alarm_3": True, "linkquality": 96})
    fire = wait_until(lambda: orders(gw, kind="fire"), what="the fire order")
    assert [(o["device_id"], o["priority"]) for o in fire] == [("rtl433/Interlogix-Security/29cd45", "P1")]
    unknown = wait_until(lambda: orders(gw, kind="unknown_alarm"), what="the unknown alarm order")
    assert [(o["device_id"], o["priority"]) for o in unknown] == [("hall panel", "P2")]
    wait_until(lambda: gw.metric("shewu_messages_in_total") >= 3, what="all three messages")
    assert gw.get("/api/deadletters") == []


@pytest.mark.postgres
def test_the_share_of_a_crashed_instance_is_adopted_then_handed_back(
    gateway_factory: Callable[..., GatewayProcess],
) -> None:
    """Mosquitto keeps dealing a crashed instance its share of a shared subscription, queued in its
    session until it returns. The live instance adopts that session after a grace period, so every
    SOS opens its order while the other is down; when it comes back it takes its session back."""
    if not postgres_available():
        pytest.skip("PostgreSQL is not running")
    with fresh_postgres() as pg:
        a = gateway_factory(instance_id="gw-a", db_url=pg, shared_group="shewu").start()
        b = gateway_factory(instance_id="gw-b", db_url=pg, shared_group="shewu").start()
        time.sleep(0.5)  # each has seen the other's presence
        b.kill()  # SIGKILL: no clean disconnect, the broker sends its will
        with publisher(a.mqtt_url) as pub:
            for d in range(20):
                publish(pub, f"zigbee2mqtt/adopt-{d}", {"action": "emergency"})
        want = {f"adopt-{d}" for d in range(20)}
        wait_until(lambda: {o["device_id"] for o in orders(a)} >= want, timeout=30,
                   what="every SOS as an order while gw-b is down")
        assert "adopting the MQTT session of gateway instance gw-b" in a.log_path.read_text()
        b.start()  # it takes its session back; gw-a's adopter steps aside
        wait_until(lambda: any(line in a.log_path.read_text() for line in (
            "took its MQTT session back", "handing the MQTT session of gateway instance gw-b back")),
            what="the session handed back")
        with publisher(a.mqtt_url) as pub:
            for d in range(20, 40):
                publish(pub, f"zigbee2mqtt/adopt-{d}", {"action": "emergency"})
        want |= {f"adopt-{d}" for d in range(20, 40)}
        wait_until(lambda: {o["device_id"] for o in orders(a)} >= want, timeout=30, what="the later SOS too")
        assert b.metric("shewu_messages_in_total") > 0  # gw-b takes its share again
        result = orders(a)
        assert len(result) == 40 and all(o["event_count"] == 1 for o in result)
        a.stop()
        b.stop()
