"""The HTTP API over a real database, with an injected clock (no MQTT here)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from device_adapters.events import DeviceEvent, EventKind
from gateway.app import create_app
from gateway.config import Settings
from gateway.services.events import apply_events
from gateway.storage.db import session
from tests.accounts import bearer, user_token
from tests.fakes import FakeClock

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def client(db_url: str, clock: FakeClock) -> Iterator[TestClient]:
    """Signed in as an admin; ``xiaoliu`` (dispatcher) and ``li`` (technician) exist too."""
    settings = Settings(db_url=db_url, ingest=False, max_body=4096, scheduler_interval=0)
    with TestClient(create_app(settings, clock=clock)) as c:
        engine = c.app.state.runtime.engine  # type: ignore[attr-defined]
        c.headers.update(bearer(user_token(engine, "admin", "admin")))
        user_token(engine, "li", "technician", display_name="李师傅", skills=["plumbing"])
        yield c


def as_user(client: TestClient, name: str, role: str, **profile: object) -> dict[str, str]:
    return bearer(user_token(client.app.state.runtime.engine, name, role, **profile))  # type: ignore[attr-defined]


def fire(client: TestClient, kind: EventKind, device: str = "elder-101-sos") -> None:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with session(runtime.engine) as s:
        apply_events(s, [DeviceEvent(device_id=device, kind=kind, at=runtime.clock(), source="native")],
                     now=runtime.clock())
        s.commit()


def test_device_registry_create_list_update(client: TestClient) -> None:
    r = client.post("/api/devices", json={"device_id": "home/3-101/sos", "model": "HS1EB", "kind": "sos",
                                          "resident": "王秀英", "address": "3栋2单元101", "grid": "G1"})
    assert r.status_code == 201, r.text
    assert client.post("/api/devices", json={"device_id": "home/3-101/sos"}).status_code == 409
    r = client.patch("/api/devices/home/3-101/sos", json={"resident": "王秀兰"})
    assert r.status_code == 200 and r.json()["resident"] == "王秀兰"
    assert client.get("/api/devices/home/3-101/sos").json()["address"] == "3栋2单元101"
    assert [d["device_id"] for d in client.get("/api/devices").json()] == ["home/3-101/sos"]
    assert client.get("/api/devices/nope").status_code == 404
    assert client.post("/api/devices", json={"device_id": "bad#id"}).status_code == 422
    assert client.post("/api/devices", json={"device_id": 5}).status_code == 422


def test_device_csv_import_reports_bad_rows(client: TestClient) -> None:
    csv_text = (
        "device_id,model,kind,resident,address,grid\n"
        "elder-1-sos,HS1EB,sos,张三,1栋101,G1\n"
        ",HS1EB,sos,nobody,,G1\n"
        "elder-2-leak,SJCGQ11LM,leak,李四,1栋102,G1\n"
    )
    r = client.post("/api/devices/import", content=csv_text.encode(), headers={"content-type": "text/csv"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["created"], body["updated"]) == (2, 0)
    assert [e["line"] for e in body["errors"]] == [3]
    r = client.post("/api/devices/import", files={"file": ("d.csv", csv_text.replace("张三", "张三丰"), "text/csv")})
    assert r.status_code == 200, r.text
    assert r.json()["updated"] == 2
    assert client.get("/api/devices/elder-1-sos").json()["resident"] == "张三丰"
    bad = client.post("/api/devices/import", content=b"name,x\n1,2\n", headers={"content-type": "text/csv"})
    assert bad.status_code == 422 and "device_id" in bad.json()["detail"]


def test_order_json_shape_and_clock(client: TestClient, clock: FakeClock) -> None:
    client.post("/api/devices", json={"device_id": "elder-101-sos", "resident": "王秀英", "address": "3栋101"})
    fire(client, EventKind.SOS)
    clock.now = T0 + timedelta(minutes=11)
    [order] = client.get("/api/orders", params={"active": "true"}).json()
    for field in ("id", "kind", "priority", "status", "device_id", "resident", "address", "opened_at",
                  "ack_due_at", "onsite_due_at", "event_count"):
        assert field in order
    assert order["opened_at"] == "2026-11-28T04:00:00.000Z"
    assert order["onsite_due_at"] == "2026-11-28T04:15:00.000Z"
    assert order["clock"]["at_risk"] is True and order["clock"]["breached"] is False
    assert order["clock"]["ack_overdue"] is True
    assert order["clock"]["onsite_remaining_s"] == 240
    clock.now = T0 + timedelta(minutes=16)
    assert client.get(f"/api/orders/{order['id']}").json()["clock"]["breached"] is True


def test_actions_walk_the_life_and_fill_the_timeline(client: TestClient, clock: FakeClock) -> None:
    fire(client, EventKind.SOS)
    oid = client.get("/api/orders").json()[0]["id"]
    staff = as_user(client, "xiaoliu", "dispatcher", display_name="值班员小刘")
    steps = [("ack", {}), ("dispatch", {"technician": "li"}), ("arrive", {}), ("resolve", {"note": "扶起, 无伤"}),
             ("close", {})]
    for i, (action, extra) in enumerate(steps):
        clock.now = T0 + timedelta(minutes=i + 1)
        r = client.post(f"/api/orders/{oid}/{action}", json={"by": "typed name is ignored", **extra}, headers=staff)
        assert r.status_code == 200, r.text
    detail = client.get(f"/api/orders/{oid}").json()
    assert detail["status"] == "closed" and detail["assignee"] == "li"
    assert detail["arrived_at"] == "2026-11-28T04:03:00.000Z"
    assert [e["action"] for e in detail["timeline"]] == \
        ["opened", "ack", "dispatch", "accept", "arrive", "resolve", "close"]  # arriving accepts
    assert detail["timeline"][5]["note"] == "扶起, 无伤"
    assert all(e["actor"] == "xiaoliu" for e in detail["timeline"][1:])  # the signed-in user
    assert client.get("/api/orders", params={"active": "true"}).json() == []


def test_illegal_transition_is_409_with_reason(client: TestClient) -> None:
    fire(client, EventKind.SOS)
    oid = client.get("/api/orders").json()[0]["id"]
    r = client.post(f"/api/orders/{oid}/resolve", json={})
    assert r.status_code == 409 and "open" in r.json()["detail"]
    r = client.post(f"/api/orders/{oid}/cancel", json={})
    assert r.status_code == 409 and "reason" in r.json()["detail"]
    assert client.post(f"/api/orders/{oid}/cancel", json={"reason": "误报"}).json()["status"] == "cancelled"
    assert client.post("/api/orders/9999/ack", json={}).status_code == 404
    assert client.post(f"/api/orders/{oid}/explode", json={}).status_code == 422
    assert client.post(f"/api/orders/{oid}/ack", json={"note": 5}).status_code == 422


def test_filters_and_urgency_order(client: TestClient) -> None:
    fire(client, EventKind.LEAK, device="leak-1")
    fire(client, EventKind.BATTERY_LOW, device="sos-9")
    fire(client, EventKind.FALL, device="radar-1")
    active = client.get("/api/orders", params={"active": "true"}).json()
    assert [o["priority"] for o in active] == ["P1", "P2", "P3"]
    assert [o["kind"] for o in client.get("/api/orders", params={"kind": "leak"}).json()] == ["leak"]
    assert [o["kind"] for o in client.get("/api/orders", params={"status": "open"}).json()] == ["fall"]


def test_oversized_body_is_413(client: TestClient) -> None:
    r = client.post("/api/devices", content=b"{" + b" " * 10000 + b"}", headers={"content-type": "application/json"})
    assert r.status_code == 413 and "4096" in r.json()["detail"]


def test_health_metrics_and_docs(client: TestClient) -> None:
    assert client.get("/healthz").json()["db"] is True
    assert client.get("/healthz").json()["timers"] is None  # no scheduler thread in this app
    text = client.get("/metrics").text
    assert "shewu_messages_in_total 0" in text and "shewu_ack_lag_seconds_count" in text
    assert client.get("/openapi.json").json()["info"]["title"].startswith("Shewu")
    assert client.get("/api/deadletters").json() == []


def test_live_socket_snapshot_then_changes(client: TestClient) -> None:
    fire(client, EventKind.SOS, device="a")
    with client.websocket_connect("/api/live") as ws:
        snap = ws.receive_json()
        assert snap["type"] == "snapshot" and [o["device_id"] for o in snap["orders"]] == ["a"]
        oid = snap["orders"][0]["id"]
        client.post(f"/api/orders/{oid}/ack", json={})
        msg = ws.receive_json()
        assert msg["type"] == "order" and msg["order"]["status"] == "acknowledged"


def test_escalation_steps_reach_the_timeline_and_the_live_feed(client: TestClient, clock: FakeClock) -> None:
    fire(client, EventKind.SOS, device="ignored")
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with client.websocket_connect("/api/live") as ws:
        oid = ws.receive_json()["orders"][0]["id"]
        clock.now = T0 + timedelta(seconds=61)
        fired, _ = runtime.scheduler.run_once()  # the scheduler thread polls the same way each second
        assert [f.step for f in fired] == ["raised", "ack_overdue"]
        steps = [ws.receive_json(), ws.receive_json()]
        assert [(m["type"], m["order_id"], m["step"], m["audience"]) for m in steps] == [
            ("escalation", oid, "raised", ["oncall_team"]), ("escalation", oid, "ack_overdue", ["oncall_team"])]
    timeline = client.get(f"/api/orders/{oid}").json()["timeline"]
    assert timeline[-1]["action"] == "escalation" and timeline[-1]["actor"] == "shewu:escalation"
