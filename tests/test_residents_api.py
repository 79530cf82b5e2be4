"""Resident records and grids through the API: add, read, change, remove; CSV import and export
round trip with Chinese text; grids and their workers; and the privacy matrix: each role reads
only the records it may, and the medical notes and key holders only when it may (office staff
always, the resident their own, a technician while assigned to an open emergency at the home)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Mount

import gateway.storage.people_models  # noqa: F401  (registers the tables before the schema is made)
from device_adapters.events import DeviceEvent, EventKind
from gateway.api.routes import grids, residents
from gateway.app import create_app
from gateway.config import Settings
from gateway.domain.orders import Category, Priority
from gateway.services.events import apply_events
from gateway.services.opening import Due, open_order
from gateway.storage import crud
from gateway.storage.db import session
from gateway.storage.models import Device, Home, User
from tests.accounts import bearer, user_token
from tests.fakes import FakeClock

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
NOTES = "高血压，每日服药；青霉素过敏"
CONTACTS = [
    {"name": "王小明", "relation": "子女", "phone": "13900000002", "holds_key": False},
    {"name": "李阿姨", "relation": "邻居", "phone": "13700000003", "holds_key": True},
]


def with_people_routes(app: FastAPI) -> FastAPI:
    """The app with the residents and grids routers (until app.py includes them), ahead of the
    dashboard's catch-all mount."""
    paths = {getattr(r, "path", None) for r in app.router.routes}
    if "/api/residents" not in paths:
        app.include_router(residents.router)
        app.include_router(grids.router)
        app.router.routes.sort(key=lambda r: isinstance(r, Mount))  # stable: the mount goes last
    return app


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def client(db_url: str, clock: FakeClock) -> Iterator[TestClient]:
    settings = Settings(db_url=db_url, ingest=False, scheduler_interval=0)
    with TestClient(with_people_routes(create_app(settings, clock=clock))) as c:
        engine = c.app.state.runtime.engine  # type: ignore[attr-defined]
        with session(engine) as s:
            s.add(Home(home_id="3-2-101", address="3栋2单元101", building="3", unit="2", room="101", grid="G1",
                       resident="王秀英"))
            s.add(Home(home_id="3-2-102", address="3栋2单元102", building="3", unit="2", room="102", grid="G1",
                       resident="陈大爷"))
            s.add(Home(home_id="5-1-201", address="5栋1单元201", building="5", unit="1", room="201", grid="G2",
                       resident="赵奶奶"))
            # an SOS button and a leak sensor in 3-2-101
            crud.save_device(s, device=Device(device_id="sos-101", home_id="3-2-101", kind="sos", grid="G1",
                                              resident="王秀英", address="3栋2单元101"))
            crud.save_device(s, device=Device(device_id="leak-101", home_id="3-2-101", kind="leak", grid="G1",
                                              resident="王秀英", address="3栋2单元101"))
            s.commit()
        c.who = {  # type: ignore[attr-defined]
            "boss": bearer(user_token(engine, "boss", "admin")),
            "duty": bearer(user_token(engine, "duty", "dispatcher")),
            "wang": bearer(user_token(engine, "wang", "technician", skills=["plumbing"])),
            "zhao": bearer(user_token(engine, "zhao", "technician", skills=["plumbing"])),
            "sun": bearer(user_token(engine, "sun", "grid_worker", grid="G1")),
            "li": bearer(user_token(engine, "li", "grid_worker", grid="G2")),
            "granny": bearer(user_token(engine, "granny", "resident")),
            "stranger": bearer(user_token(engine, "stranger", "resident")),
        }
        with session(engine) as s:
            for name in ("granny", "stranger"):
                u = s.get(User, name)
                assert u is not None
                u.home_id = "3-2-101" if name == "granny" else "3-2-102"
                s.add(u)
            s.commit()
        yield c


def h(client: TestClient, who: str) -> dict[str, str]:
    return client.who[who]  # type: ignore[attr-defined,no-any-return]


def add(client: TestClient, **body: Any) -> dict[str, Any]:
    r = client.post("/api/residents", json=body, headers=h(client, "duty"))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def seed(client: TestClient) -> dict[str, int]:
    """王秀英 in 3-2-101 (G1, granny's own record), 陈大爷 in 3-2-102 (G1), 赵奶奶 in 5-1-201 (G2)."""
    return {
        "wang_xiuying": add(client, name="王秀英", home_id="3-2-101", phone="13800000001", lives_alone=True,
                            age_band="80-89", contacts=CONTACTS, medical_notes=NOTES, user="granny")["id"],
        "chen": add(client, name="陈大爷", home_id="3-2-102", phone="13800000004", age_band="70-79",
                    contacts=[{"name": "张邻居", "relation": "邻居", "phone": "1", "holds_key": True}],
                    medical_notes="糖尿病")["id"],
        "zhao": add(client, name="赵奶奶", home_id="5-1-201", lives_alone=True, age_band="90+",
                    medical_notes="心脏起搏器")["id"],
    }


def fire(client: TestClient, kind: EventKind, device: str) -> int:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with session(runtime.engine) as s:
        changes = apply_events(s, [DeviceEvent(device_id=device, kind=kind, at=runtime.clock(), source="native")],
                               now=runtime.clock())
        s.commit()
    return changes[0].order_id


def order_action(client: TestClient, oid: int, action: str, who: str, **body: Any) -> None:
    r = client.post(f"/api/orders/{oid}/{action}", json=body, headers=h(client, who))
    assert r.status_code == 200, r.text


def read(client: TestClient, who: str, rid: int) -> dict[str, Any] | None:
    r = client.get(f"/api/residents/{rid}", headers=h(client, who))
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def sees_sensitive(record: dict[str, Any] | None) -> bool:
    assert record is not None
    if record["withheld"]:  # withheld says what was left out, and it was
        assert record["withheld"] == ["medical_notes", "key_holders"] and record["access"] is None
        assert "medical_notes" not in record and not any(c["holds_key"] for c in record["contacts"])
        return False
    assert "medical_notes" in record and record["access"]
    return True


def names(client: TestClient, who: str, **params: str) -> list[str]:
    r = client.get("/api/residents", params=params, headers=h(client, who))
    assert r.status_code == 200, r.text
    return [x["name"] for x in r.json()]


# --- records -------------------------------------------------------------------------------


def test_add_read_change_remove(client: TestClient, clock: FakeClock) -> None:
    ids = seed(client)
    rec = read(client, "boss", ids["wang_xiuying"])
    assert rec is not None
    assert (rec["name"], rec["home_id"], rec["grid"], rec["phone"], rec["lives_alone"], rec["age_band"]) == \
        ("王秀英", "3-2-101", "G1", "13800000001", True, "80-89")
    assert rec["home"] == {"address": "3栋2单元101", "building": "3", "unit": "2", "room": "101", "grid": "G1"}
    assert rec["contacts"] == CONTACTS and rec["medical_notes"] == NOTES and rec["user"] == "granny"
    assert rec["access"] == "office" and rec["withheld"] == [] and rec["updated_by"] == "duty"

    clock.now += timedelta(hours=1)
    r = client.patch(f"/api/residents/{ids['wang_xiuying']}", headers=h(client, "boss"),
                     json={"phone": "13800009999", "lives_alone": False, "contacts": CONTACTS[:1], "user": None})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert (changed["phone"], changed["lives_alone"], changed["contacts"], changed["user"]) == \
        ("13800009999", False, CONTACTS[:1], None)
    assert changed["medical_notes"] == NOTES and changed["name"] == "王秀英"  # not sent: unchanged
    assert changed["updated_by"] == "boss" and changed["updated_at"] == "2026-12-01T03:00:00.000Z"

    assert names(client, "duty") == ["王秀英", "陈大爷", "赵奶奶"]  # by home, then name
    assert names(client, "duty", grid="G2") == ["赵奶奶"]
    assert names(client, "duty", home_id="3-2-102") == ["陈大爷"]

    assert client.delete(f"/api/residents/{ids['chen']}", headers=h(client, "duty")).status_code == 204
    assert read(client, "duty", ids["chen"]) is None
    assert client.delete(f"/api/residents/{ids['chen']}", headers=h(client, "duty")).status_code == 404
    assert client.patch("/api/residents/9999", json={"phone": "1"}, headers=h(client, "duty")).status_code == 404


def test_bad_records_are_refused_with_a_reason(client: TestClient) -> None:
    seed(client)

    def post(**body: Any) -> tuple[int, str]:
        r = client.post("/api/residents", json={"name": "某人", "home_id": "3-2-101", **body},
                        headers=h(client, "duty"))
        return r.status_code, r.text

    code, text = post(home_id="9-9-999")
    assert code == 422 and "no home" in text
    code, text = post(age_band="75")
    assert code == 422 and "age_band" in text
    code, text = post(contacts=[{"name": "张三|李四", "phone": "1"}])
    assert code == 422 and "separate contacts" in text
    code, text = post(contacts=[{"relation": "子女"}])
    assert code == 422  # a contact needs a name
    code, text = post(user="wang")
    assert code == 422 and "not a resident" in text
    code, text = post(user="nobody")
    assert code == 422 and "no user" in text
    code, text = post(user="granny")  # already linked to 王秀英
    assert code == 409 and "already linked" in text
    code, text = post(name="")
    assert code == 422
    rid = client.get("/api/residents", headers=h(client, "duty")).json()[0]["id"]
    r = client.patch(f"/api/residents/{rid}", json={"name": None}, headers=h(client, "duty"))
    assert r.status_code == 422
    r = client.patch(f"/api/residents/{rid}", json={"user": "stranger"}, headers=h(client, "duty"))
    assert r.status_code == 200 and r.json()["user"] == "stranger"  # moving granny's record to another login


def test_who_may_write(client: TestClient) -> None:
    ids = seed(client)
    body = {"name": "新居民", "home_id": "3-2-101"}
    for who in ("wang", "sun", "granny"):
        assert client.post("/api/residents", json=body, headers=h(client, who)).status_code == 403
        assert client.patch(f"/api/residents/{ids['chen']}", json={"phone": "1"},
                            headers=h(client, who)).status_code == 403
        assert client.delete(f"/api/residents/{ids['chen']}", headers=h(client, who)).status_code == 403
        assert client.get("/api/residents/export", headers=h(client, who)).status_code == 403
        assert client.post("/api/residents/import", content="name,home_id\n", headers=h(client, who)).status_code \
            == 403
    assert client.post("/api/residents", json=body, headers=h(client, "boss")).status_code == 201


def test_without_a_token_nothing(client: TestClient) -> None:
    ids = seed(client)
    for method, path in (("GET", "/api/residents"), ("GET", f"/api/residents/{ids['chen']}"),
                         ("POST", "/api/residents"), ("PATCH", f"/api/residents/{ids['chen']}"),
                         ("DELETE", f"/api/residents/{ids['chen']}"), ("GET", "/api/residents/export"),
                         ("POST", "/api/residents/import"), ("GET", "/api/grids"), ("PUT", "/api/grids/G1"),
                         ("POST", "/api/grids/import")):
        r = client.request(method, path, json={} if method in ("POST", "PUT", "PATCH") else None)
        assert r.status_code == 401, (method, path, r.status_code)
    r = client.get("/api/residents", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401


# --- privacy -------------------------------------------------------------------------------


def test_office_sees_everything(client: TestClient) -> None:
    ids = seed(client)
    for who in ("boss", "duty"):
        assert names(client, who) == ["王秀英", "陈大爷", "赵奶奶"]
        for rid in ids.values():
            assert sees_sensitive(read(client, who, rid))
        rec = read(client, who, ids["wang_xiuying"])
        assert rec is not None and rec["medical_notes"] == NOTES and rec["contacts"] == CONTACTS


def test_grid_workers_see_their_grid_without_medical_notes_or_key_holders(client: TestClient) -> None:
    ids = seed(client)
    assert names(client, "sun") == ["王秀英", "陈大爷"]
    assert names(client, "li") == ["赵奶奶"]
    assert names(client, "sun", grid="G1") == ["王秀英", "陈大爷"]
    assert client.get("/api/residents", params={"grid": "G2"}, headers=h(client, "sun")).status_code == 403
    for rec in client.get("/api/residents", headers=h(client, "sun")).json():
        assert not sees_sensitive(rec)
        assert rec["withheld"] == ["medical_notes", "key_holders"] and rec["access"] is None
    rec = read(client, "sun", ids["wang_xiuying"])
    assert rec is not None
    assert "medical_notes" not in rec
    assert rec["contacts"] == [CONTACTS[0]]  # the son, not the neighbour with the key
    assert (rec["phone"], rec["lives_alone"], rec["age_band"], rec["home"]["room"]) == \
        ("13800000001", True, "80-89", "101")
    chen = read(client, "sun", ids["chen"])
    assert chen is not None and chen["contacts"] == []  # his only contact holds a key
    assert read(client, "sun", ids["zhao"]) is None  # another grid: as if it were not there
    assert read(client, "li", ids["wang_xiuying"]) is None


def test_a_resident_sees_only_their_own_record_in_full(client: TestClient) -> None:
    ids = seed(client)
    assert names(client, "granny") == ["王秀英"]
    own = read(client, "granny", ids["wang_xiuying"])
    assert own is not None and own["access"] == "self" and sees_sensitive(own)
    assert own["medical_notes"] == NOTES and own["contacts"] == CONTACTS
    assert read(client, "granny", ids["chen"]) is None
    assert read(client, "granny", ids["zhao"]) is None
    assert client.get("/api/residents", params={"home_id": "3-2-102"}, headers=h(client, "granny")).json() == []
    # living in a home is not enough: the record must name the login
    assert names(client, "stranger") == []
    assert read(client, "stranger", ids["chen"]) is None


def test_a_technician_sees_the_sensitive_parts_only_while_assigned_to_an_open_emergency(
        client: TestClient, clock: FakeClock) -> None:
    ids = seed(client)
    rid = ids["wang_xiuying"]
    assert names(client, "wang") == [] and read(client, "wang", rid) is None  # nothing assigned

    oid = fire(client, EventKind.SOS, "sos-101")
    assert read(client, "wang", rid) is None  # open, but not (yet) his

    clock.now += timedelta(seconds=30)
    order_action(client, oid, "dispatch", "duty", technician="wang")
    rec = read(client, "wang", rid)
    assert rec is not None and sees_sensitive(rec) and rec["access"] == "assigned_emergency"
    assert rec["medical_notes"] == NOTES and rec["contacts"] == CONTACTS
    assert names(client, "wang") == ["王秀英"]  # that home's people only
    assert read(client, "wang", ids["chen"]) is None and read(client, "wang", ids["zhao"]) is None
    assert read(client, "zhao", rid) is None  # not the one sent

    for action in ("accept", "depart", "arrive"):
        clock.now += timedelta(minutes=2)
        order_action(client, oid, action, "wang")
        assert sees_sensitive(read(client, "wang", rid))  # all the while it is open

    clock.now += timedelta(minutes=10)
    order_action(client, oid, "resolve", "wang", note="老人摔倒，已送医")
    assert read(client, "wang", rid) is None  # resolved: gone
    assert names(client, "wang") == []


def test_a_redispatch_or_a_cancel_takes_the_access_away(client: TestClient, clock: FakeClock) -> None:
    rid = seed(client)["wang_xiuying"]
    oid = fire(client, EventKind.SOS, "sos-101")
    order_action(client, oid, "dispatch", "duty", technician="wang")
    assert sees_sensitive(read(client, "wang", rid))
    clock.now += timedelta(minutes=1)
    order_action(client, oid, "dispatch", "duty", technician="zhao")
    assert read(client, "wang", rid) is None
    assert sees_sensitive(read(client, "zhao", rid))
    order_action(client, oid, "cancel", "duty", reason="误报")
    assert read(client, "zhao", rid) is None


def test_a_leak_ticket_shows_the_record_but_not_the_sensitive_parts(client: TestClient, clock: FakeClock) -> None:
    rid = seed(client)["wang_xiuying"]
    leak = fire(client, EventKind.LEAK, "leak-101")
    order_action(client, leak, "dispatch", "duty", technician="wang")
    rec = read(client, "wang", rid)
    assert rec is not None and not sees_sensitive(rec)  # he may find the home and call the son
    assert rec["contacts"] == [CONTACTS[0]] and rec["phone"] == "13800000001"

    # an emergency at the same home sent to someone else does not open it to him either
    sos = fire(client, EventKind.SOS, "sos-101")
    order_action(client, sos, "dispatch", "duty", technician="zhao")
    assert not sees_sensitive(read(client, "wang", rid))
    assert sees_sensitive(read(client, "zhao", rid))
    # ... and once it is his too, it does; the leak ticket alone never did
    order_action(client, sos, "dispatch", "duty", technician="wang")
    assert sees_sensitive(read(client, "wang", rid))
    for action in ("arrive", "resolve"):
        order_action(client, sos, action, "wang")
    rec = read(client, "wang", rid)
    assert rec is not None and not sees_sensitive(rec)  # the leak ticket is still his


def test_an_emergency_opened_for_a_home_counts_too(client: TestClient) -> None:
    """Orders that carry a home_id (not a device): the home is the order's own."""
    rid = seed(client)["zhao"]
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    now = runtime.clock()
    with session(runtime.engine) as s:
        home = s.get(Home, "5-1-201")
        open_order(s, kind="sos", category=Category.EMERGENCY, priority=Priority.P1, now=now,
                   due=Due(ack=now + timedelta(minutes=1), onsite=now + timedelta(minutes=15),
                           at_risk=now + timedelta(minutes=10)),
                   home=home, open_key="sos|home|5-1-201", actor="duty", assignee="zhao")
        s.commit()
    rec = read(client, "zhao", rid)
    assert rec is not None and sees_sensitive(rec) and rec["medical_notes"] == "心脏起搏器"
    assert read(client, "wang", rid) is None


# --- CSV -----------------------------------------------------------------------------------

IMPORT = (
    "\ufeffname,home_id,phone,lives_alone,age_band,contacts,medical_notes,user\r\n"
    "王秀英,3-2-101,13800000001,是,80-89,王小明|子女|13900000002;李阿姨|邻居|13700000003|key,"
    "\"高血压，每日服药；青霉素过敏\",granny\r\n"
    "陈大爷,3-2-102,13800000004,no,70-79,张邻居｜邻居｜1｜有钥匙,\"糖尿病, 胰岛素\n每晚注射\",\r\n"
    "赵奶奶,5-1-201,,1,90+,,心脏起搏器,\r\n"
)


def export(client: TestClient, **params: str) -> str:
    r = client.get("/api/residents/export", params=params, headers=h(client, "duty"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads the Chinese right
    return r.content.decode("utf-8-sig")


def test_csv_import_and_export_round_trip(client: TestClient) -> None:
    r = client.post("/api/residents/import", content=IMPORT.encode("utf-8"), headers=h(client, "duty"))
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 3, "updated": 0}
    records = {x["name"]: x for x in client.get("/api/residents", headers=h(client, "boss")).json()}
    wang = records["王秀英"]
    assert (wang["lives_alone"], wang["age_band"], wang["user"], wang["medical_notes"]) == \
        (True, "80-89", "granny", NOTES)
    assert wang["contacts"] == CONTACTS
    chen = records["陈大爷"]
    assert chen["contacts"] == [{"name": "张邻居", "relation": "邻居", "phone": "1", "holds_key": True}]  # full width
    assert chen["medical_notes"] == "糖尿病, 胰岛素\n每晚注射" and chen["lives_alone"] is False
    assert records["赵奶奶"]["contacts"] == [] and records["赵奶奶"]["phone"] == ""

    text = export(client)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["name"] for r in rows] == ["王秀英", "陈大爷", "赵奶奶"]
    assert rows[0]["contacts"] == "王小明|子女|13900000002;李阿姨|邻居|13700000003|key"
    assert rows[0]["lives_alone"] == "yes" and rows[0]["medical_notes"] == NOTES and rows[0]["id"]

    # the export goes back in unchanged: every row matched by its id, nothing new
    r = client.post("/api/residents/import", content=("\ufeff" + text).encode("utf-8"), headers=h(client, "duty"))
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 0, "updated": 3}
    again = {x["name"]: x for x in client.get("/api/residents", headers=h(client, "boss")).json()}
    strip = ("updated_at", "updated_by")
    assert {k: {f: v for f, v in x.items() if f not in strip} for k, x in again.items()} == \
        {k: {f: v for f, v in x.items() if f not in strip} for k, x in records.items()}
    assert export(client) == text
    assert [r["name"] for r in csv.DictReader(io.StringIO(export(client, grid="G2")))] == ["赵奶奶"]

    # as a multipart upload; matched by home and name (no id column); missing columns left alone
    partial = "name,home_id,phone\n陈大爷,3-2-102,13811112222\n"
    r = client.post("/api/residents/import", files={"file": ("r.csv", partial.encode("utf-8"), "text/csv")},
                    headers=h(client, "boss"))
    assert r.status_code == 200 and r.json() == {"created": 0, "updated": 1}
    chen = {x["name"]: x for x in client.get("/api/residents", headers=h(client, "boss")).json()}["陈大爷"]
    assert chen["phone"] == "13811112222" and chen["medical_notes"] == "糖尿病, 胰岛素\n每晚注射"
    assert chen["contacts"] and chen["age_band"] == "70-79"


def test_a_bad_csv_writes_nothing_and_names_every_bad_line(client: TestClient) -> None:
    bad = (
        "name,home_id,lives_alone,age_band,contacts,user\n"
        "好人,3-2-101,否,60-69,,\n"
        "没家,9-9-999,否,60-69,,\n"
        "年龄,3-2-101,否,七十,,\n"
        "独居,3-2-101,也许,60-69,,\n"
        "钥匙,3-2-101,否,60-69,甲|邻居|1|maybe,\n"
        "太多,3-2-101,否,60-69,a|b|c|key|x,\n"
        "师傅,3-2-101,否,60-69,,wang\n"
        "好人,3-2-101,否,60-69,,\n"
    )
    r = client.post("/api/residents/import", content=bad.encode("utf-8"), headers=h(client, "duty"))
    assert r.status_code == 422, r.text
    errors = r.json()["detail"]
    assert [e["line"] for e in errors] == [3, 4, 5, 6, 7, 8, 9]
    assert "no home" in errors[0]["msg"] and "age_band" in errors[1]["msg"]
    assert "neither yes nor no" in errors[2]["msg"] and "key" in errors[3]["msg"]
    assert "not a resident" in errors[5]["msg"] and "line 2" in errors[6]["msg"]
    assert client.get("/api/residents", headers=h(client, "duty")).json() == []  # nothing written

    r = client.post("/api/residents/import", content="名字,住址\n王,1\n".encode(), headers=h(client, "duty"))
    assert r.status_code == 422 and "missing" in r.text
    r = client.post("/api/residents/import", content=b"name,home_id\r\n", headers=h(client, "duty"))
    assert r.status_code == 422 and "no rows" in r.text
    r = client.post("/api/residents/import", content="name,home_id\n王,1\n".encode("gbk"), headers=h(client, "duty"))
    assert r.status_code == 422 and "UTF-8" in r.text
    r = client.post("/api/residents/import", content="id,name,home_id\n999,王,3-2-101\n".encode(),
                    headers=h(client, "duty"))
    assert r.status_code == 422 and "no resident #999" in r.text


def test_a_login_may_move_between_records_in_one_import(client: TestClient) -> None:
    ids = seed(client)
    moved = (f"id,name,home_id,user\n{ids['chen']},陈大爷,3-2-102,granny\n"
             f"{ids['wang_xiuying']},王秀英,3-2-101,\n")
    r = client.post("/api/residents/import", content=moved.encode(), headers=h(client, "duty"))
    assert r.status_code == 200, r.text
    assert names(client, "granny") == ["陈大爷"]
    taken = f"id,name,home_id,user\n{ids['zhao']},赵奶奶,5-1-201,granny\n"
    r = client.post("/api/residents/import", content=taken.encode(), headers=h(client, "duty"))
    assert r.status_code == 422 and "already linked" in r.text


# --- grids ---------------------------------------------------------------------------------


def grid_list(client: TestClient, who: str = "duty") -> dict[str, dict[str, Any]]:
    r = client.get("/api/grids", headers=h(client, who))
    assert r.status_code == 200, r.text
    return {g["grid"]: g for g in r.json()}


def test_grids_and_their_workers(client: TestClient) -> None:
    seed(client)
    listed = grid_list(client)
    assert set(listed) == {"G1", "G2"}  # named by homes and grid workers before any is defined
    assert listed["G1"]["workers"] == ["sun"] and not listed["G1"]["defined"]
    assert (listed["G1"]["homes"], listed["G1"]["residents"], listed["G1"]["living_alone"]) == (2, 2, 1)

    r = client.put("/api/grids/G1", json={"name": "幸福里第一网格", "workers": ["sun"]}, headers=h(client, "boss"))
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["workers"], r.json()["defined"]) == ("幸福里第一网格", ["sun"], True)

    # li works G2: taking her into G1 without taking her off G2 is a conflict
    r = client.put("/api/grids/G1", json={"name": "幸福里第一网格", "workers": ["sun", "li"]},
                   headers=h(client, "boss"))
    assert r.status_code == 409 and "works grid G2" in r.text
    r = client.put("/api/grids/G1", json={"workers": ["wang"]}, headers=h(client, "boss"))
    assert r.status_code == 422 and "not a grid worker" in r.text
    r = client.put("/api/grids/G1", json={"workers": ["ghost"]}, headers=h(client, "boss"))
    assert r.status_code == 422 and "no user" in r.text
    assert client.put("/api/grids/bad grid", json={}, headers=h(client, "boss")).status_code == 422

    # a CSV may move a worker: sun to G2, li to G1, in one go; scoping follows at once
    text = "grid,name,workers\nG1,幸福里第一网格,li\nG2,幸福里第二网格,sun\nG3,新网格,\n"
    r = client.post("/api/grids/import", content=("\ufeff" + text).encode("utf-8"), headers=h(client, "boss"))
    assert r.status_code == 200, r.text
    assert r.json() == {"grids": 3}
    listed = grid_list(client, "sun")  # grid workers read the grids too
    assert (listed["G1"]["workers"], listed["G2"]["workers"], listed["G3"]["workers"]) == (["li"], ["sun"], [])
    assert listed["G2"]["name"] == "幸福里第二网格"
    assert names(client, "sun") == ["赵奶奶"] and names(client, "li") == ["王秀英", "陈大爷"]

    # emptying a grid frees its worker
    assert client.put("/api/grids/G2", json={"name": "幸福里第二网格", "workers": []},
                      headers=h(client, "boss")).status_code == 200
    assert names(client, "sun") == []
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with session(runtime.engine) as s:
        sun = s.get(User, "sun")
        assert sun is not None and sun.grid == ""


def test_a_bad_grid_csv_writes_nothing(client: TestClient) -> None:
    text = "grid,name,workers\nG1,一,sun\nG2,二,sun\nG 3,三,\nG4,四,wang；ghost\n"
    r = client.post("/api/grids/import", content=text.encode(), headers=h(client, "boss"))
    assert r.status_code == 422, r.text
    assert [e["line"] for e in r.json()["detail"]] == [4]  # the malformed code first, alone
    text = "grid,name,workers\nG1,一,sun\nG2,二,sun\nG4,四,wang；ghost\n"
    r = client.post("/api/grids/import", content=text.encode(), headers=h(client, "boss"))
    assert r.status_code == 422, r.text
    msgs = [(e["line"], e["msg"]) for e in r.json()["detail"]]
    assert [line for line, _ in msgs] == [3, 4, 4]
    assert "works one grid" in msgs[0][1] and "ghost" in msgs[1][1] and "not a grid worker" in msgs[2][1]
    assert not any(g["defined"] for g in grid_list(client).values())


def test_who_may_touch_grids(client: TestClient) -> None:
    for who in ("duty", "wang", "sun"):
        assert client.get("/api/grids", headers=h(client, who)).status_code == 200
        assert client.put("/api/grids/G1", json={"workers": []}, headers=h(client, who)).status_code == 403
        assert client.post("/api/grids/import", content=b"grid\nG1\n", headers=h(client, who)).status_code == 403
    assert client.get("/api/grids", headers=h(client, "granny")).status_code == 403
