"""The typed API: every route declares what it answers, and every answer is what it declares.

A community with some of everything (homes, devices, residents with sensitive parts, orders at
every stage, requests, care plans, a rota, channels, tokens, a pairing session, a dead letter) is
read through every GET route, as an admin and as the roles whose answers differ (a grid worker
sees residents with parts withheld, an integration token is no user). Each body must validate
against the schema ``/openapi.json`` gives for that operation and status; and ``response_guard``
(autouse, tests/conftest.py) fails any request whose body a response model changed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from sqlalchemy.engine import Engine

from device_adapters.events import DeviceEvent, EventKind
from gateway.app import create_app
from gateway.config import Settings
from gateway.services.care import generate_due
from gateway.services.escalation import fire_due
from gateway.services.events import apply_events
from gateway.storage import crud
from gateway.storage.db import session
from gateway.storage.models import DeviceStatus
from tests.accounts import api_token, bearer, user_token
from tests.fakes import FakeClock
from tests.response_guard import first_difference

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@dataclass
class Community:
    client: TestClient
    clock: FakeClock
    engine: Engine
    who: dict[str, dict[str, str]]
    ids: dict[str, Any] = field(default_factory=dict)

    def as_(self, who: str) -> dict[str, str]:
        return self.who[who]


def _event(engine: Engine, now: datetime, device: str, kind: EventKind) -> int:
    with session(engine) as s:
        [change] = apply_events(s, [DeviceEvent(device_id=device, kind=kind, at=now, source="native")], now=now)
        s.commit()
    return change.order_id


def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture
def community(db_url: str, tmp_path: Any) -> Iterator[Community]:
    clock = FakeClock(T0)
    settings = Settings(db_url=db_url, ingest=False, scheduler_interval=0, photo_dir=f"{tmp_path}/photos")
    with TestClient(create_app(settings, clock=clock)) as c:
        engine = c.app.state.runtime.engine  # type: ignore[attr-defined]
        who = {
            "admin": bearer(user_token(engine, "admin", "admin")),
            "duty": bearer(user_token(engine, "duty", "dispatcher", display_name="值班员小刘")),
            "li": bearer(user_token(engine, "li", "technician", display_name="李师傅", skills=["plumbing"],
                                    team="property", building="3栋")),
            "sun": bearer(user_token(engine, "sun", "grid_worker", grid="G1")),
            "granny": bearer(user_token(engine, "granny", "resident", home_id="3-2-101")),
            "integration": bearer(api_token(engine, "ops-board", "dispatcher")),
        }
        c.headers.update(who["admin"])
        world = Community(c, clock, engine, who)
        _populate(world)
        yield world


def _populate(w: Community) -> None:
    c, ids = w.client, w.ids
    for home in ({"home_id": "3-2-101", "address": "3栋2单元101", "grid": "G1", "resident": "王秀英",
                  "phone": "13800000000", "inactivity_hours": 12},
                 {"home_id": "5-1-201", "address": "5栋1单元201", "grid": "G2", "resident": "赵大爷",
                  "away": True, "away_note": "住院"}):
        ok(c.post("/api/homes", json=home), 201)
    ok(c.put("/api/grids/G1", json={"name": "第一网格", "workers": ["sun"]}))
    for device, kind, home in (("elder-101-sos", "sos", "3-2-101"), ("elder-101-leak", "leak", "3-2-101"),
                               ("elder-201-fall", "fall", "5-1-201")):
        ok(c.post("/api/devices", json={"device_id": device, "kind": kind, "model": "HS1EB", "home_id": home}), 201)
    ok(c.post("/api/devices/import-z2m", json=[
        {"friendly_name": "0x00158d0001", "ieee_address": "0x00158d0001", "type": "EndDevice", "supported": True,
         "definition": {"model": "SJCGQ11LM", "vendor": "Aqara", "exposes": []}, "power_source": "Battery"},
        {"friendly_name": "coordinator", "type": "Coordinator"},
        {"friendly_name": "0x00158d0002", "supported": False, "interview_completed": False},
    ]))
    resident = ok(c.post("/api/residents", json={
        "name": "王秀英", "home_id": "3-2-101", "phone": "13800000000", "lives_alone": True, "age_band": "80-89",
        "medical_notes": "高血压", "user": "granny",
        "contacts": [{"name": "王强", "relation": "子女", "phone": "13900000000", "holds_key": True},
                     {"name": "邻居张", "relation": "邻居", "phone": "13700000000"}]}), 201)
    ids["resident"] = resident["id"]
    with session(w.engine) as s:
        s.add(DeviceStatus(device_id="stranger-1", last_seen=T0, last_kind="sos", battery=87, linkquality=120,
                           availability="online", messages=3))
        crud.add_dead_letters(s, rows=[{"received_at": T0, "topic": "zigbee2mqtt/x", "reason": "bad_json",
                                        "detail": "Expecting value", "payload": b"{oops\xff", "payload_size": 6}])
        s.commit()

    # orders at several stages: an SOS worked to the end and past its on-site target, a leak ticket
    # dispatched, a fall cancelled, and a resident's request resolved, confirmed and rated
    sos = ids["sos"] = _event(w.engine, T0, "elder-101-sos", EventKind.SOS)
    ids["leak"] = _event(w.engine, T0, "elder-101-leak", EventKind.LEAK)
    fall = _event(w.engine, T0, "elder-201-fall", EventKind.FALL)
    w.clock.now = T0 + timedelta(seconds=30)
    ok(c.post(f"/api/orders/{sos}/ack", json={}))
    ok(c.post(f"/api/orders/{fall}/cancel", json={"reason": "误报，已电话确认"}))
    ok(c.post(f"/api/orders/{ids['leak']}/dispatch", json={"technician": "li"}))
    w.clock.now = T0 + timedelta(minutes=16)
    with session(w.engine) as s:
        fire_due(s, now=w.clock.now, instance="test")
        s.commit()
    ok(c.post(f"/api/orders/{sos}/dispatch", json={"technician": "li", "note": "最近"}))
    ok(c.post(f"/api/orders/{sos}/arrive", json={}, headers=w.as_("li")))
    ok(c.post(f"/api/orders/{sos}/resolve", json={"note": "老人安好"}, headers=w.as_("li")))
    ok(c.put(f"/api/reports/breaches/{sos}", json={"reason": "traffic", "note": "堵车"}))

    photo = ok(c.post("/api/requests/photos", content=PNG, headers={**w.as_("granny"), "content-type": "image/png"}),
               201)["photo"]
    filed = ok(c.post("/api/requests", json={"category": "repair_plumbing", "description": "厨房水管漏水",
                                              "photo": photo}, headers=w.as_("granny")), 201)
    req = ids["request_order"] = filed["order"]["id"]
    ok(c.post(f"/api/orders/{req}/dispatch", json={"technician": "li"}))
    for action in ("accept", "depart", "arrive"):
        ok(c.post(f"/api/orders/{req}/{action}", json={}, headers=w.as_("li")))
    ok(c.post(f"/api/orders/{req}/third_party", json={"reason": "燃气公司"}, headers=w.as_("li")))
    ok(c.post(f"/api/orders/{req}/resume", json={}, headers=w.as_("li")))
    ok(c.post(f"/api/orders/{req}/resolve", json={"note": "已换阀门"}, headers=w.as_("li")))
    ok(c.post(f"/api/requests/{req}/confirm", json={"rating": 5, "comment": "很好"}, headers=w.as_("granny")))
    ids["open311"] = ok(c.post("/open311/v2/requests.json", data={
        "api_key": w.as_("duty")["Authorization"].split()[1], "service_code": "002", "address_id": "5-1-201",
        "description": "楼道灯不亮", "lat": "31.2", "long": "121.5"}))[0]["service_request_id"]

    ok(c.put("/api/care/plans/3-2-101", json={"resident_id": resident["id"]}))
    with session(w.engine) as s:
        generate_due(s, now=w.clock.now + timedelta(days=7), tz=w.client.app.state.runtime.zone)  # type: ignore[attr-defined]
        s.commit()
    ok(c.put("/api/rota/weekly", json={"shifts": [
        {"weekday": d, "start": "08:00", "end": "20:00", "user": "duty", "duty": "dispatcher"} for d in range(7)]}))
    ok(c.put("/api/rota/overrides/2026-11-29", json={"shifts": [{"user": None}]}))
    ok(c.put("/api/channels/ops-hook", json={"kind": "webhook", "url": "https://example.invalid/hook",
                                             "secret": "s3cret", "audiences": ["dispatcher"]}))
    ok(c.post("/api/channels/ops-hook/test"))
    ids["token"] = ok(c.post("/api/tokens", json={"name": "bi-export", "role": "dispatcher"}), 201)["name"]
    ids["pairing"] = ok(c.post("/api/pairing", json={"home_id": "5-1-201", "kind": "sos"}), 201)["id"]
    w.clock.now = T0 + timedelta(minutes=40)


def _openapi(c: TestClient) -> dict[str, Any]:
    return ok(c.get("/openapi.json"))


def _validator(spec: dict[str, Any], path: str, method: str, status: int) -> Draft202012Validator:
    responses = spec["paths"][path][method]["responses"]
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": spec["components"]})


def _check(spec: dict[str, Any], path: str, r: Any, method: str = "get") -> Any:
    """The answer's body validates against the schema of its operation and status."""
    body = r.json()
    errors = sorted(_validator(spec, path, method, r.status_code).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{method.upper()} {path} {r.status_code}: " + "; ".join(
        f"{'/'.join(map(str, e.path))}: {e.message[:200]}" for e in errors[:5])
    return body


# Each GET route that answers JSON, with the URLs (and who asks) that read it over the community.
def _urls(w: Community) -> dict[str, list[tuple[str, str]]]:
    i = w.ids
    return {
        "/healthz": [("/healthz", "admin")],
        "/api/deadletters": [("/api/deadletters", "admin")],
        "/api/auth/me": [("/api/auth/me", "admin"), ("/api/auth/me", "integration")],
        "/api/me": [("/api/me", "li"), ("/api/me", "integration")],
        "/api/users": [("/api/users", "admin")],
        "/api/tokens": [("/api/tokens", "admin")],
        "/api/dispatch/settings": [("/api/dispatch/settings", "admin")],
        "/api/orders": [("/api/orders", "admin"), ("/api/orders?active=true", "li")],
        "/api/orders/{order_id}": [(f"/api/orders/{i['sos']}", "admin"), (f"/api/orders/{i['request_order']}",
                                                                          "admin")],
        "/api/orders/{order_id}/proposals": [(f"/api/orders/{i['leak']}/proposals", "duty")],
        "/api/grids": [("/api/grids", "admin")],
        "/api/devices": [("/api/devices", "admin")],
        "/api/devices/unregistered": [("/api/devices/unregistered", "admin")],
        "/api/devices/{device_id}/history": [("/api/devices/elder-101-sos/history", "admin")],
        "/api/devices/{device_id}": [("/api/devices/elder-101-sos", "admin"), ("/api/devices/0x00158d0001", "admin")],
        "/api/fleet": [("/api/fleet", "admin"), ("/api/fleet?state=ok", "admin")],
        "/api/fleet/{device_id}": [("/api/fleet/elder-101-leak", "admin")],
        "/api/models": [("/api/models", "admin")],
        "/api/pairing/{pairing_id}": [(f"/api/pairing/{i['pairing']}", "admin")],
        "/api/homes": [("/api/homes", "admin")],
        "/api/homes/{home_id}": [("/api/homes/3-2-101", "admin")],
        "/api/residents": [("/api/residents", "admin"), ("/api/residents", "sun"), ("/api/residents", "granny")],
        "/api/residents/{resident_id}": [(f"/api/residents/{i['resident']}", "admin"),
                                         (f"/api/residents/{i['resident']}", "sun")],
        "/api/requests/categories": [("/api/requests/categories", "granny")],
        "/api/requests": [("/api/requests", "admin"), ("/api/requests", "granny")],
        "/api/lists/needs": [("/api/lists/needs", "admin"), ("/api/lists/needs?lang=en", "sun")],
        "/api/lists/services": [("/api/lists/services", "admin"), ("/api/lists/services?lang=en", "li")],
        "/api/lists/resources": [("/api/lists/resources", "admin")],
        "/api/lists/summary": [("/api/lists/summary?year=2026", "admin")],
        "/api/reports/response": [("/api/reports/response", "admin")],
        "/api/reports/breach-reasons": [("/api/reports/breach-reasons", "admin")],
        "/api/oncall": [("/api/oncall", "admin")],
        "/api/rota": [("/api/rota", "admin")],
        "/api/rota/overrides/{day}": [("/api/rota/overrides/2026-11-29", "admin"),
                                      ("/api/rota/overrides/2026-11-30", "admin")],
        "/api/channels": [("/api/channels", "admin")],
        "/api/notifications": [("/api/notifications", "admin")],
        "/api/care/kinds": [("/api/care/kinds", "admin")],
        "/api/care/plans": [("/api/care/plans", "admin")],
        "/api/care/plans/{home_id}": [("/api/care/plans/3-2-101", "sun")],
        "/open311/v2/services.json": [("/open311/v2/services.json", "admin")],
        "/open311/v2/services/{service_code}.json": [("/open311/v2/services/001.json", "admin")],
        "/open311/v2/requests.json": [("/open311/v2/requests.json", "admin"), ("/open311/v2/requests.json", "granny")],
        "/open311/v2/requests/{service_request_id}.json": [(f"/open311/v2/requests/{i['open311']}.json", "admin"),
                                                           ("/open311/v2/requests/1.json", "granny")],
    }


def test_every_get_route_answers_what_its_schema_says(community: Community) -> None:
    c = community.client
    spec = _openapi(c)
    urls = _urls(community)
    gets = {path for path, ops in spec["paths"].items()
            if "application/json" in ops.get("get", {}).get("responses", {}).get("200", {}).get("content", {})}
    assert gets == set(urls), "a GET route that answers JSON without a URL here, or a URL for no route"
    for path, reads in urls.items():
        for url, who in reads:
            r = c.get(url, headers=community.as_(who))
            assert r.status_code == 200, f"{url} as {who}: {r.status_code} {r.text[:300]}"
            body = _check(spec, path, r)
            assert body not in ([], {}), f"{url} as {who} answered nothing: the community lacks what it reads"


def test_privacy_withheld_parts_are_absent_not_null(community: Community) -> None:
    """The schema allows medical_notes to be left out; it is left out, never sent as null."""
    c, rid = community.client, community.ids["resident"]
    whole = ok(c.get(f"/api/residents/{rid}"))
    seen = ok(c.get(f"/api/residents/{rid}", headers=community.as_("sun")))
    assert (whole["access"], whole["withheld"], whole["medical_notes"]) == ("office", [], "高血压")
    assert "medical_notes" not in seen and seen["access"] is None
    assert seen["withheld"] == ["medical_notes", "key_holders"]
    assert [x["name"] for x in seen["contacts"]] == ["邻居张"]


def test_keys_a_route_leaves_out_stay_out(community: Community) -> None:
    c = community.client
    assert "load" in ok(c.get("/api/users"))[0]
    assert "load" not in ok(c.post("/api/users", json={"name": "wu", "role": "technician"}), 201)
    health = ok(c.get("/healthz"))
    assert "ingest" not in health and "reason" not in health  # no ingest in this app
    assert ok(c.get("/api/me", headers=community.as_("integration"))) == {
        "name": "token:ops-board", "role": "dispatcher", "via": "token"}
    home = ok(c.get("/api/homes/3-2-101"))
    assert home["device_count"] == 2 and "devices_updated" not in home
    assert ok(c.patch("/api/homes/3-2-101", json={"phone": "13811111111"}))["devices_updated"] == 0


def test_error_answers_follow_their_declared_schemas(community: Community) -> None:
    c = community.client
    spec = _openapi(c)
    _check(spec, "/open311/v2/services/{service_code}.json", c.get("/open311/v2/services/nope.json"))
    _check(spec, "/open311/v2/requests.json", c.get("/open311/v2/requests.json", headers={"Authorization": ""}))
    _check(spec, "/open311/v2/requests.json", c.get("/open311/v2/requests.json?status=maybe"))
    _check(spec, "/open311/v2/requests/{service_request_id}.json", c.get("/open311/v2/requests/999.json"))
    _check(spec, "/open311/v2/requests.json", c.post("/open311/v2/requests.json", data={"service_code": "x"}),
           method="post")


def test_every_operation_declares_its_answer(community: Community) -> None:
    """No 2xx JSON answer is an untyped object or array: each names its model."""
    spec = _openapi(community.client)
    untyped = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if not status.startswith("2") or schema is None:
                    continue
                item = schema.get("items", schema) if schema.get("type") == "array" else schema
                if not ("$ref" in item or "anyOf" in item or ("additionalProperties" in item and
                        "$ref" in str(item["additionalProperties"]))):
                    untyped.append(f"{method.upper()} {path} {status}: {schema}")
    assert untyped == []


def test_the_guard_sees_a_dropped_key_a_filled_null_and_a_changed_type() -> None:
    assert first_difference({"a": 1, "b": [True, None]}, {"a": 1, "b": [True, None]}) is None
    assert first_difference({"a": 1, "b": 2}, {"a": 1}) == "$: keys ['b'] dropped or added"
    assert first_difference({"a": 1}, {"a": 1, "b": None}) == "$: keys ['b'] dropped or added"
    assert first_difference({"a": [3]}, {"a": [3.0]}) == "$.a[0]: 3 given, 3.0 sent"
    assert first_difference([1], [True]) == "$[0]: 1 given, True sent"
