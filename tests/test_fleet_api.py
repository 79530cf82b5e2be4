"""Provisioning and the fleet (issue 4): homes and the copies on their devices, CSV export and
import, fleet states from real orders and supervision rows, history, Zigbee2MQTT's device list,
the models view, and who may do what. A real database and an injected clock."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from starlette.routing import Mount

from device_adapters.events import DeviceEvent, EventKind
from gateway.api.routes import fleet as fleet_routes
from gateway.api.routes import homes as homes_routes
from gateway.app import create_app
from gateway.config import Settings
from gateway.services.events import apply_events
from gateway.services.supervision import poll
from gateway.storage.db import session
from tests.accounts import bearer, user_token

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def with_fleet_routes(app: FastAPI) -> FastAPI:
    """The homes and fleet routers, for as long as gateway/app.py does not include them itself
    (then this changes nothing); the dashboard's mount at ``/`` stays last."""
    paths = {getattr(r, "path", None) for r in app.router.routes}
    for module, path in ((homes_routes, "/api/homes"), (fleet_routes, "/api/fleet")):
        if path not in paths:
            app.include_router(module.router)
    mounts = [r for r in app.router.routes if isinstance(r, Mount) and r.path == ""]
    for m in mounts:
        app.router.routes.remove(m)
        app.router.routes.append(m)
    return app


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def client(db_url: str, clock: FakeClock) -> Iterator[TestClient]:
    """Signed in as an admin."""
    settings = Settings(db_url=db_url, ingest=False, max_body=1_048_576, scheduler_interval=0)
    with TestClient(with_fleet_routes(create_app(settings, clock=clock))) as c:
        c.headers.update(bearer(user_token(engine_of(c), "admin", "admin")))
        yield c


def engine_of(client: TestClient) -> Engine:
    return client.app.state.runtime.engine  # type: ignore[attr-defined,no-any-return]


def as_user(client: TestClient, name: str, role: str, **profile: object) -> dict[str, str]:
    return bearer(user_token(engine_of(client), name, role, **profile))


def hear(client: TestClient, device_id: str, at: datetime, kind: EventKind = EventKind.HEARTBEAT,
         value: object = None, **raw: Any) -> None:
    with session(engine_of(client)) as s:
        apply_events(s, [DeviceEvent(device_id=device_id, kind=kind, at=at, source="native", value=value, raw=raw)],
                     now=at)
        s.commit()


def supervise(client: TestClient, now: datetime) -> list[str]:
    with session(engine_of(client)) as s:
        found = poll(s, now=now)
        s.commit()
    return [e.kind.value for e in found.events]


def home(client: TestClient, home_id: str, **fields: Any) -> dict[str, Any]:
    r = client.post("/api/homes", json={"home_id": home_id, **fields})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def device(client: TestClient, device_id: str, **fields: Any) -> dict[str, Any]:
    r = client.post("/api/devices", json={"device_id": device_id, **fields})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def csv_rows(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM, for Excel"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


# ---- homes -----------------------------------------------------------------------------------


def test_homes_crud_and_the_copies_on_their_devices(client: TestClient) -> None:
    h = home(client, "3-2-101", address="3栋2单元101", building="3", unit="2", room="101", grid="G1",
             resident="王秀英", phone="13800000000", inactivity_hours=6, window_start="7:00", window_end="24:00")
    assert (h["window_start"], h["window_end"], h["inactivity_hours"], h["away"]) == ("07:00", "24:00", 6, False)
    assert client.post("/api/homes", json={"home_id": "3-2-101"}).status_code == 409
    assert client.post("/api/homes", json={"home_id": "a/b"}).status_code == 422
    assert client.post("/api/homes", json={"home_id": "x", "window_start": "25:00"}).status_code == 422
    assert client.post("/api/homes", json={"home_id": "x", "inactivity_hours": 0}).status_code == 422

    sos = device(client, "home/3-2-101/sos", home_id="3-2-101", kind="sos", model="TS0215A_sos")
    assert (sos["home_id"], sos["resident"], sos["address"], sos["grid"]) == ("3-2-101", "王秀英", "3栋2单元101", "G1")
    device(client, "home/3-2-101/leak", home_id="3-2-101", kind="leak", resident="王秀英")  # same value: fine
    r = client.post("/api/devices", json={"device_id": "d3", "home_id": "3-2-101", "resident": "someone else"})
    assert r.status_code == 422 and "resident" in r.json()["detail"]
    r = client.post("/api/devices", json={"device_id": "d3", "home_id": "nowhere"})
    assert r.status_code == 422 and "nowhere" in r.json()["detail"]
    device(client, "elsewhere", resident="李四", grid="G2")

    r = client.patch("/api/homes/3-2-101", json={"resident": "王秀兰", "grid": "G9", "inactivity_hours": None,
                                                 "away": True, "away_note": "住院"})
    assert r.status_code == 200, r.text
    assert r.json()["devices_updated"] == 2 and r.json()["inactivity_hours"] is None and r.json()["away"] is True
    for d in ("home/3-2-101/sos", "home/3-2-101/leak"):
        got = client.get(f"/api/devices/{d}").json()
        assert (got["resident"], got["grid"], got["address"]) == ("王秀兰", "G9", "3栋2单元101")
    assert client.get("/api/devices/elsewhere").json()["resident"] == "李四"
    assert client.patch("/api/homes/3-2-101", json={"resident": None}).status_code == 422
    assert client.patch("/api/homes/nope", json={"resident": "x"}).status_code == 404

    detail = client.get("/api/homes/3-2-101").json()
    assert detail["device_count"] == 2
    assert [d["device_id"] for d in detail["devices"]] == ["home/3-2-101/leak", "home/3-2-101/sos"]
    home(client, "5-1-202", grid="G2", resident="赵六")
    listed = client.get("/api/homes").json()
    assert [(h["home_id"], h["device_count"]) for h in listed] == [("3-2-101", 2), ("5-1-202", 0)]
    assert [h["home_id"] for h in client.get("/api/homes", params={"grid": "G2"}).json()] == ["5-1-202"]
    assert [h["home_id"] for h in client.get("/api/homes", params={"q": "秀兰"}).json()] == ["3-2-101"]

    # A device with a home: its copies are the home's to change.
    r = client.patch("/api/devices/home/3-2-101/sos", json={"resident": "冒名"})
    assert r.status_code == 422
    r = client.patch("/api/devices/elsewhere", json={"home_id": "5-1-202"})
    assert r.status_code == 200 and (r.json()["resident"], r.json()["grid"]) == ("赵六", "G2")
    r = client.patch("/api/devices/elsewhere", json={"home_id": None, "resident": "李四"})
    assert r.status_code == 200 and (r.json()["home_id"], r.json()["resident"]) == (None, "李四")
    assert client.get("/api/devices", params={"home_id": "3-2-101"}).json()[0]["home_id"] == "3-2-101"


def test_csv_export_is_taken_back_unchanged(client: TestClient) -> None:
    home(client, "1-1-101", address='1栋, "东"门 101', grid="G1", resident="=HYPERLINK(\"x\")",
         phone="+86 138 0000 0000", inactivity_hours=4.5, window_start="22:00", window_end="07:00", away=True,
         away_note="'在外地")
    home(client, "1-1-102", grid="G1", resident="张三", phone="-")
    device(client, "zigbee/1-1-101 SOS", home_id="1-1-101", kind="sos", model="HS1EB/HS1EB-E")
    device(client, "@leak", kind="leak", resident="李四", address="2栋", grid="G2")
    homes_csv = client.get("/api/homes/export")
    devices_csv = client.get("/api/devices/export")
    assert homes_csv.status_code == devices_csv.status_code == 200
    assert homes_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in devices_csv.headers["content-disposition"]
    rows = csv_rows(homes_csv.content)
    assert rows[0]["resident"] == "'=HYPERLINK(\"x\")" and rows[0]["phone"] == "'+86 138 0000 0000"
    assert rows[0]["away_note"] == "''在外地" and rows[0]["away"] == "true" and rows[0]["inactivity_hours"] == "4.5"
    assert csv_rows(devices_csv.content)[0]["device_id"] == "'@leak"

    # Change things, then import the exports: everything is as it was.
    client.patch("/api/homes/1-1-101", json={"resident": "changed", "inactivity_hours": None, "away": False})
    client.patch("/api/devices/@leak", json={"kind": "door", "grid": "G7"})
    client.patch("/api/devices/zigbee/1-1-101 SOS", json={"home_id": None})
    r = client.post("/api/homes/import", content=homes_csv.content, headers={"content-type": "text/csv"})
    assert r.status_code == 200 and r.json() == {"created": 0, "updated": 2, "devices_updated": 0, "errors": []}
    r = client.post("/api/devices/import", files={"file": ("devices.csv", devices_csv.content, "text/csv")})
    assert r.status_code == 200 and r.json() == {"created": 0, "updated": 2, "errors": []}
    assert client.get("/api/homes/export").content == homes_csv.content
    assert client.get("/api/devices/export").content == devices_csv.content
    sos = client.get("/api/devices/zigbee/1-1-101 SOS").json()
    assert (sos["home_id"], sos["resident"]) == ("1-1-101", '=HYPERLINK("x")')


def test_csv_import_creates_reports_bad_rows_and_keeps_absent_columns(client: TestClient) -> None:
    text = ("home_id,resident,grid,inactivity_hours,away\n"
            "7-1-101,孙七,G3,,否\n"
            "7-1-102,周八,G3,abc,\n"
            "7-1-103,吴九,G3,,maybe\n"
            "bad/id,x,G3,,\n")
    r = client.post("/api/homes/import", content=text.encode(), headers={"content-type": "text/csv"})
    body = r.json()
    assert (body["created"], body["updated"]) == (1, 0), body
    assert [e["line"] for e in body["errors"]] == [3, 4, 5]
    assert client.get("/api/homes/7-1-101").json()["window_start"] == "07:00"
    text = "device_id,home_id,kind\nsos-71,7-1-101,sos\nsos-72,7-9-999,sos\n"
    r = client.post("/api/devices/import", content=text.encode(), headers={"content-type": "text/csv"})
    assert r.json()["created"] == 1 and r.json()["errors"][0]["line"] == 3
    d = client.get("/api/devices/sos-71").json()
    assert (d["resident"], d["grid"], d["kind"]) == ("孙七", "G3", "sos")
    # A file without a home_id column leaves the device in its home.
    r = client.post("/api/devices/import", content=b"device_id,model\nsos-71,TS0215A_sos\n",
                    headers={"content-type": "text/csv"})
    assert r.json()["updated"] == 1
    d = client.get("/api/devices/sos-71").json()
    assert (d["home_id"], d["model"], d["kind"]) == ("7-1-101", "TS0215A_sos", "sos")
    bad = client.post("/api/homes/import", content=b"resident\nx\n", headers={"content-type": "text/csv"})
    assert bad.status_code == 422 and "home_id" in bad.json()["detail"]


# ---- the fleet -------------------------------------------------------------------------------


def by_id(fleet: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["device_id"]: d for d in fleet["devices"]}


def test_fleet_states_from_orders_supervision_and_status(client: TestClient, clock: FakeClock) -> None:
    home(client, "3-2-101", grid="G1", resident="王秀英", address="3栋2单元101")
    home(client, "5-1-202", grid="G2", resident="赵六")
    device(client, "ok-sos", home_id="3-2-101", kind="sos", model="TS0215A_sos")
    device(client, "radar", home_id="3-2-101", kind="fall", model="MIR-HE200-TY_fall")  # mains: 15 min
    device(client, "leak-tamper", home_id="5-1-202", kind="leak", model="SNZB-05")
    device(client, "door-low", home_id="5-1-202", kind="door")
    device(client, "sos-flagged", home_id="5-1-202", kind="sos")
    device(client, "hub", kind="hub", grid="G2")
    device(client, "never-heard", kind="motion", grid="G1")
    for d in ("ok-sos", "radar", "leak-tamper", "door-low", "sos-flagged", "hub"):
        hear(client, d, T0, battery=90, linkquality=120)
    assert supervise(client, T0) == []  # enrolled
    hear(client, "leak-tamper", T0 + timedelta(minutes=1), EventKind.TAMPER)
    hear(client, "door-low", T0 + timedelta(minutes=2), EventKind.TELEMETRY, battery=8)
    hear(client, "sos-flagged", T0 + timedelta(minutes=3), EventKind.BATTERY_LOW, 15, battery=15)
    hear(client, "sos-flagged", T0 + timedelta(minutes=3), EventKind.TAMPER)
    hear(client, "sos-flagged", T0 + timedelta(minutes=4), EventKind.AVAILABILITY, "offline")
    hear(client, "hub", T0 + timedelta(minutes=5), EventKind.POWER_LOST)
    for d in ("ok-sos", "leak-tamper", "door-low", "hub"):  # the radar stays silent
        hear(client, d, T0 + timedelta(minutes=15))
    events = supervise(client, T0 + timedelta(minutes=16))
    assert events.count("device_offline") == 2  # the radar (missed its deadline) and sos-flagged (availability)
    clock.now = T0 + timedelta(minutes=16)

    fleet = client.get("/api/fleet").json()
    got = by_id(fleet)
    assert {k: (v["state"], v["flags"]) for k, v in got.items()} == {
        "ok-sos": ("ok", []),
        "radar": ("offline", ["offline"]),
        "leak-tamper": ("tamper", ["tamper"]),
        "door-low": ("low_battery", ["low_battery"]),
        "sos-flagged": ("offline", ["offline", "tamper", "low_battery"]),
        "hub": ("power_lost", ["power_lost"]),
        "never-heard": ("ok", []),
    }
    assert fleet["counts"] == {"all": 7, "offline": 2, "tamper": 2, "low_battery": 2, "power_lost": 1, "ok": 2}
    assert fleet["now"] == "2026-11-28T04:16:00.000Z" and fleet["grids"] == ["G1", "G2"]
    radar = got["radar"]
    assert (radar["home_id"], radar["resident"], radar["kind"], radar["model"]) == (
        "3-2-101", "王秀英", "fall", "MIR-HE200-TY_fall")
    assert (radar["supervision"], radar["offline_reason"], radar["mains"]) == ("offline", "missed_deadline", True)
    assert radar["battery"] == 90
    assert got["ok-sos"]["last_seen"] == "2026-11-28T04:15:00.000Z"
    assert [o["kind"] for o in radar["orders"]] == ["offline"]
    # first heard + 25 h + 1 h (the deadline moves on when it comes round, not with every message)
    assert got["ok-sos"]["deadline_at"] == "2026-11-29T06:00:00.000Z"
    assert (got["ok-sos"]["linkquality"], got["ok-sos"]["availability"]) == (120, "online")
    assert got["hub"]["power"] == "lost"
    assert got["never-heard"]["last_seen"] is None and got["never-heard"]["deadline_at"] is not None
    assert sorted(o["kind"] for o in got["sos-flagged"]["orders"]) == ["battery_low", "offline", "tamper"]

    def ids(**params: str) -> list[str]:
        r = client.get("/api/fleet", params=params)
        assert r.status_code == 200, r.text
        return [d["device_id"] for d in r.json()["devices"]]

    assert ids(state="tamper") == ["leak-tamper", "sos-flagged"]
    assert ids(state="ok") == ["never-heard", "ok-sos"]
    assert ids(grid="G1") == ["never-heard", "ok-sos", "radar"]
    assert ids(home_id="5-1-202", state="low_battery") == ["door-low", "sos-flagged"]
    assert client.get("/api/fleet", params={"state": "broken"}).status_code == 422
    assert client.get("/api/fleet", params={"grid": "G1"}).json()["counts"]["all"] == 3

    # A cancelled tamper ticket no longer flags the device.
    order_id = next(o["id"] for o in got["leak-tamper"]["orders"])
    r = client.post(f"/api/orders/{order_id}/cancel", json={"reason": "测试"})
    assert r.status_code == 200, r.text
    assert by_id(client.get("/api/fleet").json())["leak-tamper"]["state"] == "ok"

    one = client.get("/api/fleet/sos-flagged").json()
    assert one["state"] == "offline" and one["profile"] == {"interval_s": 90000, "grace_s": 3600, "mains": False,
                                                           "from": "kind"}
    assert client.get("/api/fleet/nope").status_code == 404


def test_the_fleet_costs_a_few_statements_whatever_its_size(client: TestClient) -> None:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def cost(n: int) -> int:
        for i in range(n):
            device(client, f"bulk-{n}-{i:03d}", kind="sos", grid="G1")
            hear(client, f"bulk-{n}-{i:03d}", T0, EventKind.TAMPER)
        statements.clear()
        sa.event.listen(engine_of(client), "before_cursor_execute", count)
        try:
            assert client.get("/api/fleet").status_code == 200
        finally:
            sa.event.remove(engine_of(client), "before_cursor_execute", count)
        return len(statements)

    assert cost(3) == cost(60) <= 6  # the principal, the devices, their orders, the grids


# ---- history ---------------------------------------------------------------------------------


def test_history_from_supervision_samples_and_the_current_status(client: TestClient, clock: FakeClock) -> None:
    device(client, "sos-h", kind="sos")
    hear(client, "sos-h", T0, battery=100, linkquality=200)
    supervise(client, T0)
    for day in range(1, 6):
        hear(client, "sos-h", T0 + timedelta(days=day), battery=100 - 5 * day, linkquality=200 - day)
        supervise(client, T0 + timedelta(days=day, hours=2))  # the deadline comes round: a sample
    hear(client, "sos-h", T0 + timedelta(days=5, hours=3), battery=70)
    clock.now = T0 + timedelta(days=5, hours=4)
    r = client.get("/api/devices/sos-h/history")
    assert r.status_code == 200, r.text
    h = r.json()
    assert h["days"] == 30 and h["to"] == "2026-12-03T08:00:00.000Z"
    assert [p["battery"] for p in h["points"]] == [95, 90, 85, 80, 75, 70]
    assert h["points"][0] == {"at": "2026-11-29T06:00:00.000Z", "battery": 95, "linkquality": 199,
                              "availability": "online", "current": False}
    assert h["points"][-1]["current"] is True and h["points"][-1]["at"] == h["to"]
    short = client.get("/api/devices/sos-h/history", params={"days": 2}).json()
    assert [p["battery"] for p in short["points"]] == [80, 75, 70]
    assert client.get("/api/devices/sos-h/history", params={"days": 0}).status_code == 422
    assert client.get("/api/devices/nope/history").status_code == 404
    device(client, "silent", kind="sos")
    assert client.get("/api/devices/silent/history").json()["points"] == []
    device(client, "home/9-9-909/sos", kind="sos")  # ids with slashes
    assert client.get("/api/devices/home/9-9-909/sos/history").json()["device_id"] == "home/9-9-909/sos"


# ---- Zigbee2MQTT's bridge/devices ------------------------------------------------------------


def _binary(name: str, description: str = "") -> dict[str, Any]:
    return {"access": 1, "description": description, "label": name.replace("_", " ").capitalize(), "name": name,
            "property": name, "type": "binary", "value_off": False, "value_on": True}


def _numeric(name: str, unit: str = "", lo: int = 0, hi: int = 100) -> dict[str, Any]:
    return {"access": 1, "description": "", "label": name.capitalize(), "name": name, "property": name,
            "type": "numeric", "unit": unit, "value_max": hi, "value_min": lo}


LINKQUALITY = _numeric("linkquality", "lqi", 0, 255)


def _device(name: str, ieee: str, model: str | None, *, vendor: str = "", exposes: list[Any] | None = None,
            type_: str = "EndDevice", power: str = "Battery", **extra: Any) -> dict[str, Any]:
    definition = None if model is None else {
        "model": model, "vendor": vendor, "description": f"{vendor} {model}", "exposes": exposes or [],
        "options": [], "supports_ota": False,
    }
    return {"ieee_address": ieee, "type": type_, "network_address": int(ieee[-4:], 16), "supported": model is not None,
            "disabled": False, "friendly_name": name, "description": None, "definition": definition,
            "power_source": power, "software_build_id": "1.0", "date_code": "20220101", "model_id": extra.pop(
                "model_id", model or "unknown"), "interviewing": False, "interview_completed": True,
            "manufacturer": vendor or "_TZ3000_abc", "endpoints": {"1": {"bindings": [], "clusters": {
                "input": ["genBasic", "genPowerCfg", "ssIasZone"], "output": []}, "configured_reportings": [],
                "scenes": []}}, **extra}


BRIDGE_DEVICES: list[Any] = [
    _device("Coordinator", "0x00124b0022ed4b1a", None, type_="Coordinator", power="Mains (single phase)"),
    _device("home/3-2-101/sos", "0xa4c1380000000001", "TS0215A_sos", vendor="Tuya", exposes=[
        {"access": 1, "description": "Triggered action (e.g. a button click)", "label": "Action", "name": "action",
         "property": "action", "type": "enum", "values": ["emergency"]},
        _numeric("battery", "%"), _binary("battery_low"), LINKQUALITY]),
    _device("home/3-2-101/leak", "0x00158d0000000002", "SJCGQ11LM", vendor="Aqara", exposes=[
        _binary("water_leak", "Indicates whether the device detected a water leak"), _numeric("battery", "%"),
        _numeric("voltage", "mV", 0, 5000), LINKQUALITY]),
    _device("home/3-2-101/radar", "0xa4c1380000000003", "ZY-M100-S_2", vendor="Tuya", power="Mains (single phase)",
            type_="Router", exposes=[_binary("presence"), {
                "access": 1, "description": "Fall down status", "label": "Fall down status",
                "name": "fall_down_status", "property": "fall_down_status", "type": "enum",
                "values": ["none", "maybe_fall", "fall"]}, LINKQUALITY]),
    _device("home/3-2-101/pir", "0x00158d0000000004", "RTCGQ14LM", vendor="Aqara", exposes=[
        _binary("occupancy"), _numeric("illuminance", "lx", 0, 65000), _numeric("battery", "%"), LINKQUALITY]),
    _device("stairwell plug", "0x5c0272fffe000005", "TS011F_plug_1", vendor="Tuya", type_="Router",
            power="Mains (single phase)", exposes=[{"type": "switch", "features": [
                {"access": 7, "name": "state", "property": "state", "type": "binary", "value_on": "ON",
                 "value_off": "OFF"}]}, _numeric("power", "W", 0, 4000), LINKQUALITY]),
    _device("0x00124b0000000006", "0x00124b0000000006", None, model_id="TS0601", vendor="_TZE200_xyz"),
    {**_device("0x00124b0000000007", "0x00124b0000000007", None), "interview_completed": False,
     "interviewing": True},
    {**_device("old button", "0x00124b0000000008", "TS0215A_sos", vendor="Tuya"), "disabled": True},
]


def test_zigbee2mqtt_device_list_import(client: TestClient) -> None:
    device(client, "home/3-2-101/leak", kind="door")  # registered already, by an admin who chose its kind
    r = client.post("/api/devices/import-z2m", json=BRIDGE_DEVICES)
    assert r.status_code == 200, r.text
    body = r.json()
    created = {c["device_id"]: (c["model"], c["kind"], c["kind_from"]) for c in body["created"]}
    assert created == {
        "home/3-2-101/sos": ("TS0215A_sos", "sos", "model_table"),
        "home/3-2-101/radar": ("ZY-M100-S_2", "fall", "exposes"),
        "home/3-2-101/pir": ("RTCGQ14LM", "motion", "exposes"),
        "stairwell plug": ("TS011F_plug_1", "", None),
    }
    plug = next(c for c in body["created"] if c["device_id"] == "stairwell plug")
    assert plug["notes"] == ["kind_unknown", "power_source_mismatch"]  # a mains router, default battery profile
    [leak] = body["updated"]
    assert (leak["device_id"], leak["changes"], leak["kind"], leak["notes"]) == (
        "home/3-2-101/leak", ["model"], "door", ["kind_kept"])
    skipped = {s["ieee_address"]: s["reason"] for s in body["skipped"]}
    assert skipped == {"0x00124b0022ed4b1a": "coordinator", "0x00124b0000000006": "unsupported",
                       "0x00124b0000000007": "interview_incomplete", "0x00124b0000000008": "disabled"}
    assert next(s for s in body["skipped"] if s["reason"] == "unsupported")["model_id"] == "TS0601"
    assert body["counts"] == {"created": 4, "updated": 1, "skipped": 4}
    assert client.get("/api/devices/home/3-2-101/radar").json()["kind"] == "fall"
    assert client.get("/api/devices/Coordinator").status_code == 404

    again = client.post("/api/devices/import-z2m", json=BRIDGE_DEVICES).json()
    assert again["counts"] == {"created": 0, "updated": 0, "skipped": 9}
    assert sum(1 for s in again["skipped"] if s["reason"] == "unchanged") == 5

    weird = client.post("/api/devices/import-z2m", json=[5, {"friendly_name": "a#b", "definition": {}},
                                                         {"friendly_name": "x", "definition": {"model": ""}}])
    assert [s["reason"] for s in weird.json()["skipped"]] == ["not_an_object", "invalid_name", "no_model"]
    assert client.post("/api/devices/import-z2m", json={"not": "a list"}).status_code == 422


def test_models_view(client: TestClient) -> None:
    view = client.get("/api/models").json()
    models = {m["model"]: m for m in view["models"]}
    leak = models["SJCGQ11LM"]
    assert (leak["kind"], leak["decoder"], leak["vendor"]) == ("leak", "model", "Aqara")
    assert leak["supervision"] == {"interval_s": 90000, "grace_s": 3600, "mains": False, "from": "kind"}
    assert leak["battery"] == {"reports_low": True, "low_below_pct": 10}
    assert {"leak", "leak_cleared", "battery_low"} <= set(leak["events"])
    assert models["MIR-HE200-TY"]["supervision"]["mains"] is True  # fall: mains (by kind)
    assert models["MIR-HE200-TY"]["aliases"] == ["MIR-HE200-TY_fall"]  # its name until late 2022
    assert models["shewu-hub"]["supervision"] == {"interval_s": 60, "grace_s": 30, "mains": True, "from": "model"}
    assert models["shewu-hub"]["decoder"] == "generic"
    assert models["HS1EB/HS1EB-E"]["aliases"] == ["HS1EB", "HS1EB-E"] and models["HS1EB/HS1EB-E"]["kind"] == "sos"
    assert {k["kind"]: k["mains"] for k in view["kinds"]}["fall"] is True
    assert view["default"]["interval_s"] == 90000 and view["mains"]["interval_s"] == 600


# ---- who may ----------------------------------------------------------------------------------


def test_roles(client: TestClient) -> None:
    home(client, "1-1-101", grid="G1")
    device(client, "sos-1", home_id="1-1-101", kind="sos")
    dispatcher = as_user(client, "xiaoliu", "dispatcher")
    grid_worker = as_user(client, "wang", "grid_worker", grid="G1")
    technician = as_user(client, "li", "technician")
    resident = as_user(client, "zhang", "resident", home_id="1-1-101")
    reads = ["/api/fleet", "/api/fleet/sos-1", "/api/models", "/api/homes", "/api/homes/1-1-101",
             "/api/homes/export", "/api/devices/export", "/api/devices/sos-1/history"]
    for path in reads:
        for who in (dispatcher, grid_worker):
            assert client.get(path, headers=who).status_code == 200, path
        for who in (technician, resident):
            assert client.get(path, headers=who).status_code == 403, path
        assert client.get(path, headers={"Authorization": ""}).status_code == 401, path
    writes = [("post", "/api/homes", {"home_id": "2-2-202"}), ("patch", "/api/homes/1-1-101", {"phone": "1"}),
              ("post", "/api/devices/import-z2m", []), ("patch", "/api/devices/sos-1", {"kind": "fall"})]
    for method, path, body in writes:
        assert client.request(method, path, json=body, headers=dispatcher).status_code == 403, path
        assert client.request(method, path, json=body, headers={"Authorization": ""}).status_code == 401, path
    for path in ("/api/homes/import", "/api/devices/import"):
        r = client.post(path, content=b"home_id\n", headers={**dispatcher, "content-type": "text/csv"})
        assert r.status_code == 403, path


def test_a_blank_home_id_is_no_home(client: TestClient) -> None:
    home(client, "1-1-101", resident="张三")
    assert device(client, "d1", home_id="")["home_id"] is None
    assert client.patch("/api/devices/d1", json={"home_id": "1-1-101"}).json()["resident"] == "张三"
    assert client.patch("/api/devices/d1", json={"home_id": " "}).json()["home_id"] is None
    assert client.patch("/api/devices/d1", json={"home_id": "a/b"}).status_code == 422
