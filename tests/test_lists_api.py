"""The three lists (需求清单、资源清单、服务清单) and the yearly summary over HTTP, on a small known
data set built by the real services with an injected clock: filters, who sees what, the CSV and
XLSX exports holding exactly the rows the pages show, and the summary's numbers."""

from __future__ import annotations

import csv
import io
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from device_adapters.events import DeviceEvent, EventKind
from gateway.app import create_app
from gateway.config import Settings
from gateway.domain.orders import Action, Category, Priority
from gateway.services.events import apply_events
from gateway.services.opening import Due, open_order
from gateway.services.order_actions import act
from gateway.services.requests import confirm, file_request
from gateway.storage import crud
from gateway.storage.db import session
from gateway.storage.models import Home
from gateway.storage.people_models import Grid
from tests.accounts import bearer, user_token
from tests.browser_helpers import CHROMIUM, launch_browser, new_page
from tests.fakes import FakeClock
from tests.test_open311 import with_routers

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
NOW = T0 + timedelta(days=10)  # Thursday 12 March, 09:00 in Shanghai
M = timedelta(minutes=1)
H = timedelta(hours=1)
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


@dataclass
class World:
    client: TestClient
    clock: FakeClock
    engine: Engine
    ids: dict[str, int]
    who: dict[str, dict[str, str]]

    def get(self, path: str, who: str = "admin", **params: Any) -> Any:
        return self.client.get(path, params=params, headers=self.who[who])

    def json(self, path: str, who: str = "admin", **params: Any) -> Any:
        r = self.get(path, who, **params)
        assert r.status_code == 200, r.text
        return r.json()


def _file(engine: Engine, at: datetime, home_id: str, category: str, text: str, by: str, on_behalf: bool) -> int:
    with session(engine) as s:
        home = s.get(Home, home_id)
        assert home is not None
        filed = file_request(s, home=home, category=category, description=text, filed_by=by, on_behalf=on_behalf,
                             now=at, tz=SH)
        s.commit()
        return int(filed.order.id)


def _act(engine: Engine, at: datetime, oid: int, action: Action, actor: str, **kw: Any) -> None:
    with session(engine) as s:
        act(s, order_id=oid, action=action, actor=actor, now=at, **kw)
        s.commit()


def _alarm(engine: Engine, at: datetime, device: str, kind: EventKind) -> int:
    with session(engine) as s:
        [change] = apply_events(s, [DeviceEvent(device_id=device, kind=kind, at=at, source="native")], now=at)
        s.commit()
    return int(change.order_id)


def _care(engine: Engine, at: datetime, home_id: str, due: datetime, worker: str) -> int:
    with session(engine) as s:
        home = s.get(Home, home_id)
        order, _ = open_order(s, kind="weekly_visit", category=Category.CARE, priority=Priority.P3, now=at,
                              due=Due(ack=None, onsite=due, at_risk=due - H, resolve=due + H), home=home,
                              open_key=f"care|test|{home_id}|{due.date()}", actor="shewu:care", assignee=worker)
        crud.append_timeline_rows(s, rows=[{"order_id": order.id, "at": at, "actor": "shewu:care", "action": "dispatch",
                                            "note": None, "data": {"technician": worker}}])  # as care plans do
        s.commit()
        return int(order.id)


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    """Eight orders in March 2026 (Shanghai), worked by the real services:

    - R1 plumbing request, G1, by the resident at T0: dispatched to li +10 min, on site +60 min (target 13:00,
      on time), resolved +90 min ("换了阀芯"), confirmed with 5 stars; a repeat filed by sun (grid worker)
      at +5 min is joined to it;
    - R2 electrical request, G2, by an integration at T0+1h (10:00): wang on site at 15:00 (target 14:00, late),
      resolved at 16:00, confirmed with 3 stars;
    - R3 mediation request, G1, by sun for the resident at T0+2h, cancelled;
    - E1 SOS in G1 at T0+3h: ack +30 s, li dispatched +1 min, on site +10 min, resolved +20 min;
    - E2 fall in G2 at T0+4h: wang dispatched +2 min, on site +20 min (late), resolved +30 min, closed;
    - C1 care visit in G1 by sun, due T0+1d, done; C2 care visit in G2 by zhou, due T0+1d, missed;
    - R4 appliance request, G1, at NOW-1h, dispatched to li: open, within its target (li's load).
    """
    clock = FakeClock(T0)
    settings = Settings(db_url=db_url, ingest=False, scheduler_interval=0)
    with TestClient(with_routers(create_app(settings, clock=clock))) as c:
        engine = c.app.state.runtime.engine  # type: ignore[attr-defined]
        who = {
            "admin": bearer(user_token(engine, "admin", "admin")),
            "duty": bearer(user_token(engine, "duty", "dispatcher", display_name="值班小刘", phone="+8613800000001")),
            "li": bearer(user_token(engine, "li", "technician", display_name="李师傅", team="property",
                                    skills=["plumbing", "electrical"])),
            "wang": bearer(user_token(engine, "wang", "technician", display_name="王师傅", team="community",
                                      skills=["elderly_care"], status="busy")),
            "sun": bearer(user_token(engine, "sun", "grid_worker", display_name="孙网格", grid="G1")),
            "zhou": bearer(user_token(engine, "zhou", "grid_worker", grid="G2")),
            "nogrid": bearer(user_token(engine, "nogrid", "grid_worker")),
            "granny": bearer(user_token(engine, "granny", "resident")),
        }
        with session(engine) as s:
            s.add(Home(home_id="3-2-101", address="3栋2单元101", grid="G1", resident="王秀英"))
            s.add(Home(home_id="5-1-201", address="5栋1单元201", grid="G2", resident="赵大爷"))
            s.add(Grid(grid="G1", name="第一网格", workers=["sun"]))
            s.commit()
        for device, kind, grid in (("a-sos", "sos", "G1"), ("b-fall", "fall", "G2")):
            r = c.post("/api/devices", json={"device_id": device, "kind": kind, "grid": grid, "resident": "王秀英"},
                       headers=who["admin"])
            assert r.status_code == 201, r.text
        e = engine
        ids: dict[str, int] = {}
        ids["R1"] = _file(e, T0, "3-2-101", "repair_plumbing", "厨房水龙头漏水", "granny", False)
        assert _file(e, T0 + 5 * M, "3-2-101", "repair_plumbing", "还在漏", "sun", True) == ids["R1"]
        _act(e, T0 + 10 * M, ids["R1"], Action.DISPATCH, "duty", technician="li")
        _act(e, T0 + 60 * M, ids["R1"], Action.ARRIVE, "li")
        _act(e, T0 + 90 * M, ids["R1"], Action.RESOLVE, "li", note="换了阀芯")
        with session(e) as s:
            confirm(s, order_id=ids["R1"], rating=5, comment="师傅很专业", actor="granny", now=T0 + 2 * H)
            s.commit()
        t = T0 + H
        ids["R2"] = _file(e, t, "5-1-201", "repair_electrical", "整屋跳闸", "token:crm", True)
        _act(e, t + 10 * M, ids["R2"], Action.DISPATCH, "duty", technician="wang")
        _act(e, t + 5 * H, ids["R2"], Action.ARRIVE, "wang")
        _act(e, t + 6 * H, ids["R2"], Action.RESOLVE, "wang", note="更换空气开关")
        with session(e) as s:
            confirm(s, order_id=ids["R2"], rating=3, comment=None, actor="zhou", now=t + 7 * H)
            s.commit()
        ids["R3"] = _file(e, T0 + 2 * H, "3-2-101", "mediation", "楼上噪音", "sun", True)
        _act(e, T0 + 2 * H + 30 * M, ids["R3"], Action.CANCEL, "duty", reason="已协商解决")
        t = T0 + 3 * H
        ids["E1"] = _alarm(e, t, "a-sos", EventKind.SOS)
        _act(e, t + timedelta(seconds=30), ids["E1"], Action.ACK, "duty")
        _act(e, t + M, ids["E1"], Action.DISPATCH, "duty", technician="li")
        _act(e, t + 10 * M, ids["E1"], Action.ARRIVE, "li")
        _act(e, t + 20 * M, ids["E1"], Action.RESOLVE, "li", note="误按，老人安好")
        t = T0 + 4 * H
        ids["E2"] = _alarm(e, t, "b-fall", EventKind.FALL)
        _act(e, t + 2 * M, ids["E2"], Action.DISPATCH, "duty", technician="wang")
        _act(e, t + 20 * M, ids["E2"], Action.ARRIVE, "wang")
        _act(e, t + 30 * M, ids["E2"], Action.RESOLVE, "wang", note="送医")
        _act(e, t + 30 * M, ids["E2"], Action.CLOSE, "duty")
        ids["C1"] = _care(e, T0, "3-2-101", T0 + timedelta(days=1), "sun")
        _act(e, T0 + 20 * H, ids["C1"], Action.ARRIVE, "sun")
        _act(e, T0 + 21 * H, ids["C1"], Action.RESOLVE, "sun", note="老人状态良好")
        ids["C2"] = _care(e, T0, "5-1-201", T0 + timedelta(days=1), "zhou")
        _act(e, T0 + 30 * H, ids["C2"], Action.MISS, "zhou", reason="老人住院")
        ids["R4"] = _file(e, NOW - H, "3-2-101", "repair_appliance", "冰箱不制冷", "granny", False)
        _act(e, NOW - 30 * M, ids["R4"], Action.DISPATCH, "duty", technician="li")
        clock.now = NOW
        r = c.put("/api/rota/weekly", json={"shifts": [{"weekday": 3, "start": "08:00", "end": "20:00",
                                                          "user": "duty", "duty": "dispatcher"}]},
                  headers=who["admin"])
        assert r.status_code == 200, r.text
        yield World(c, clock, engine, ids, who)


def column(body: dict[str, Any], key: str) -> list[Any]:
    return [row[key] for row in body["rows"]]


# --- 需求清单 ----------------------------------------------------------------------------------


def test_needs_every_order_with_its_source(world: World) -> None:
    body = world.json("/api/lists/needs")
    ids = world.ids
    assert body["list"] == "needs" and body["count"] == 8 and not body["truncated"]
    assert [c["key"] for c in body["columns"]][:3] == ["order_id", "opened_at", "source"]
    by_id = {row["order_id"]: row for row in body["rows"]}
    assert column(body, "order_id")[0] == ids["R4"]  # newest first
    assert [by_id[ids[k]]["codes"]["source"] for k in ("R1", "R2", "R3", "E1", "C1")] == \
        ["resident", "integration", "on_behalf", "device", "care_plan"]
    r1 = by_id[ids["R1"]]
    assert (r1["source"], r1["category"], r1["kind"], r1["status"]) == ("居民自报", "居民点单", "维修·水管", "已完成")
    assert (r1["opened_at"], r1["description"], r1["filed_by"], r1["repeats"]) == \
        ("2026-03-02 09:00:00", "厨房水龙头漏水", "granny", 2)
    assert (r1["grid"], r1["home_id"], r1["resident"], r1["assignee"]) == ("G1", "3-2-101", "王秀英", "li")
    assert r1["ended_at"] == "2026-03-02 10:30:00" and r1["onsite_due_at"] == "2026-03-02 13:00:00"
    assert by_id[ids["E1"]]["device_id"] == "a-sos" and by_id[ids["E1"]]["kind"] == "紧急呼叫"
    assert by_id[ids["C2"]]["status"] == "未完成" and by_id[ids["C2"]]["kind"] == "每周探访"
    en = world.json("/api/lists/needs", lang="en")
    r1 = next(r for r in en["rows"] if r["order_id"] == ids["R1"])
    assert (r1["source"], r1["category"], r1["kind"], r1["status"]) == \
        ("Resident", "Resident's request", "Repair: plumbing", "Done")


def test_needs_filters(world: World) -> None:
    ids = world.ids

    def found(**params: Any) -> set[int]:
        return set(column(world.json("/api/lists/needs", **params), "order_id"))

    assert found(grid="G2") == {ids["R2"], ids["E2"], ids["C2"]}
    assert found(category="emergency") == {ids["E1"], ids["E2"]}
    assert found(category=["care", "emergency"], grid="G1") == {ids["E1"], ids["C1"]}
    assert found(status=["cancelled", "missed"]) == {ids["R3"], ids["C2"]}
    assert found(kind="repair_plumbing") == {ids["R1"]}
    assert found(**{"from": "2026-03-02", "to": "2026-03-02"}) == set(ids.values()) - {ids["R4"]}
    assert found(**{"from": "2026-03-03"}) == {ids["R4"]}
    assert found(**{"from": "2026-03-02T12:00:00+08:00", "to": "2026-03-02T13:00:00+08:00"}) == {ids["E1"]}
    r = world.get("/api/lists/needs", **{"from": "2026-03-05", "to": "2026-03-01"})
    assert r.status_code == 422 and "before" in r.json()["detail"]
    body = world.json("/api/lists/needs", limit=3)
    assert body["count"] == 3 and body["truncated"]


def test_who_sees_which_list(world: World) -> None:
    ids = world.ids
    g1 = {ids[k] for k in ("R1", "R3", "E1", "C1", "R4")}
    assert set(column(world.json("/api/lists/needs", "sun"), "order_id")) == g1  # a grid worker: their grid
    body = world.json("/api/lists/needs", "sun", grid="G2")  # a filter cannot widen the scope
    assert body["rows"] == [] and body["filters"]["scope"] == {"grid": "G1"}
    assert set(column(world.json("/api/lists/needs", "li"), "order_id")) == {ids["R1"], ids["E1"], ids["R4"]}
    assert set(column(world.json("/api/lists/services", "sun"), "order_id")) == {ids["R1"], ids["E1"], ids["C1"]}
    assert world.get("/api/lists/needs", "nogrid").status_code == 403
    for path in ("/api/lists/needs", "/api/lists/services", "/api/lists/resources", "/api/lists/summary"):
        assert world.get(path, "granny").status_code == 403, path
        assert world.client.get(path).status_code == 401, path
    for path in ("/api/lists/resources", "/api/lists/summary"):  # office only
        assert world.get(path, "sun").status_code == 403 and world.get(path, "li").status_code == 403
        assert world.get(path, "duty").status_code == 200


# --- 资源清单 ----------------------------------------------------------------------------------


def test_resources_staff_skills_rota_and_load(world: World) -> None:
    body = world.json("/api/lists/resources")
    rows = {r["name"]: r for r in body["rows"]}
    assert set(rows) == {"admin", "duty", "li", "wang", "sun", "zhou", "nogrid"}  # staff, no residents
    li = rows["li"]
    assert (li["display_name"], li["role"], li["team"], li["skills"], li["status"]) == \
        ("李师傅", "维修师傅", "property", "水管、电路", "空闲")
    assert (li["load"], li["done"]) == (1, 2)  # R4 open; R1 and E1 resolved in the last 30 days
    assert (rows["wang"]["load"], rows["wang"]["done"], rows["wang"]["status"]) == (0, 2, "忙碌")
    assert rows["sun"]["done"] == 1 and rows["sun"]["grid"] == "G1"
    assert rows["duty"]["on_duty"] == "值班员 至 03-12 20:00" and rows["duty"]["codes"]["duty"] == ["dispatcher"]
    assert rows["li"]["on_duty"] == ""
    en = {r["name"]: r for r in world.json("/api/lists/resources", lang="en")["rows"]}
    assert en["duty"]["on_duty"] == "dispatcher until 03-12 20:00" and en["li"]["skills"] == "plumbing, electrical"

    def names(**params: Any) -> set[str]:
        return {r["name"] for r in world.json("/api/lists/resources", **params)["rows"]}

    assert names(role="technician") == {"li", "wang"}
    assert names(skill="electrical") == {"li"}
    assert names(status="busy") == {"wang"}
    assert names(grid="G1") == {"sun"}
    assert names(team=["property", "community"]) == {"li", "wang"}
    assert {r["name"]: r["done"] for r in world.json("/api/lists/resources", role="technician",
                                                     **{"from": "2026-03-02", "to": "2026-03-02"})["rows"]} == \
        {"li": 2, "wang": 2}


# --- 服务清单 ----------------------------------------------------------------------------------


def test_services_what_by_whom_how_fast_and_rating(world: World) -> None:
    ids = world.ids
    body = world.json("/api/lists/services")
    rows = {r["order_id"]: r for r in body["rows"]}
    assert set(rows) == {ids[k] for k in ("R1", "R2", "E1", "E2", "C1")}  # resolved; not cancelled or missed
    r1 = rows[ids["R1"]]
    assert (r1["kind"], r1["assignee"], r1["assignee_name"], r1["team"], r1["status"]) == \
        ("维修·水管", "li", "李师傅", "property", "已完成")
    assert (r1["tta_min"], r1["ttos_min"], r1["ttr_min"], r1["onsite_target_min"], r1["outcome"]) == \
        (10.0, 60.0, 90.0, 240.0, "按时")
    assert (r1["work_note"], r1["rating"], r1["rating_comment"]) == ("换了阀芯", 5, "师傅很专业")
    assert (r1["arrived_at"], r1["resolved_at"]) == ("2026-03-02 10:00:00", "2026-03-02 10:30:00")
    r2 = rows[ids["R2"]]
    assert (r2["ttos_min"], r2["onsite_target_min"], r2["outcome"], r2["rating"], r2["rating_comment"]) == \
        (300.0, 240.0, "迟到", 3, "")
    e1 = rows[ids["E1"]]
    assert (e1["tta_min"], e1["ttos_min"], e1["ttr_min"], e1["onsite_target_min"], e1["outcome"]) == \
        (0.5, 10.0, 20.0, 15.0, "按时")
    assert (rows[ids["E2"]]["outcome"], rows[ids["E2"]]["rating"]) == ("迟到", None)
    assert rows[ids["C1"]]["work_note"] == "老人状态良好"
    # the same times as the response report's, per order
    report = world.client.get("/api/reports/response.csv", params={"from": "2026-03-01", "to": "2026-03-31"},
                              headers=world.who["admin"])
    per_order = {int(r["order_id"]): r for r in csv.DictReader(io.StringIO(report.content.decode("utf-8-sig")))}
    for oid, row in rows.items():
        rep = per_order[oid]
        for mine, theirs in (("tta_min", "tta_s"), ("ttos_min", "ttos_s"), ("ttr_min", "ttr_s")):
            assert row[mine] == (round(float(rep[theirs]) / 60, 1) if rep[theirs] else None), (oid, mine)
        assert row["codes"]["outcome"] == rep["onsite_outcome"]

    def found(**params: Any) -> set[int]:
        return set(column(world.json("/api/lists/services", **params), "order_id"))

    assert found(status="resolved") == {ids["E1"], ids["C1"]}
    assert found(status="cancelled") == set()  # only done states
    assert found(category="request") == {ids["R1"], ids["R2"]}
    assert found(grid="G2", category="emergency") == {ids["E2"]}
    assert found(**{"from": "2026-03-03"}) == {ids["C1"]}  # by when it was done: C1 on 3 March, 06:00


# --- exports ----------------------------------------------------------------------------------


def csv_text(value: Any) -> str:
    """What a JSON value becomes in the CSV: empty for null, a leading ' for formula-like text."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return str(value)


def read_xlsx(data: bytes) -> dict[str, list[list[Any]]]:
    """The sheets of an .xlsx, read with the standard library only, checking the package's parts."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = set(z.namelist())
        types = ElementTree.fromstring(z.read("[Content_Types].xml"))
        overrides = {o.get("PartName") for o in types if o.tag.endswith("Override")}
        assert all(p.lstrip("/") in names for p in overrides), (overrides, names)
        root_rels = ElementTree.fromstring(z.read("_rels/.rels"))
        assert [r.get("Target") for r in root_rels] == ["xl/workbook.xml"]
        book = ElementTree.fromstring(z.read("xl/workbook.xml"))
        rels = {r.get("Id"): r.get("Target") for r in ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))}
        assert all(f"xl/{t}" in names for t in rels.values())
        assert "/xl/styles.xml" in overrides
        sheets: dict[str, list[list[Any]]] = {}
        for sheet in book.find("m:sheets", NS) or []:
            part = f"xl/{rels[sheet.get(REL_NS)]}"
            assert f"/{part}" in overrides
            rows = []
            for row in ElementTree.fromstring(z.read(part)).iterfind("m:sheetData/m:row", NS):
                cells: list[Any] = []
                for c in row.iterfind("m:c", NS):
                    ref = c.get("r") or ""
                    index = 0
                    for ch in ref.rstrip("0123456789"):
                        index = index * 26 + ord(ch) - 64
                    cells += [None] * (index - 1 - len(cells))
                    kind = c.get("t")
                    if kind == "inlineStr":
                        cells.append("".join(t.text or "" for t in c.iterfind("m:is/m:t", NS)))
                    elif kind == "b":
                        cells.append(c.findtext("m:v", namespaces=NS) == "1")
                    else:
                        v = c.findtext("m:v", namespaces=NS)
                        cells.append(None if v is None else (int(v) if v.lstrip("-").isdigit() else float(v)))
                rows.append(cells)
            sheets[sheet.get("name") or ""] = rows
        return sheets


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("path,params", [
    ("/api/lists/needs", {}), ("/api/lists/needs", {"grid": "G1", "category": "request"}),
    ("/api/lists/resources", {}), ("/api/lists/services", {}), ("/api/lists/summary", {"year": 2026}),
])
def test_exports_hold_what_the_page_shows(world: World, path: str, params: dict[str, Any], lang: str) -> None:
    body = world.json(path, lang=lang, **params)
    keys = [c["key"] for c in body["columns"]]
    header = [c[lang] for c in body["columns"]]
    page = [[row[k] for k in keys] for row in body["rows"]]
    assert page, "the data set gives every list rows"

    r = world.get(path, lang=lang, format="csv", **params)
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"].startswith("attachment; filename=\"shewu-")
    assert r.content.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads the Chinese right
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert lines[0] == header
    assert lines[1:] == [[csv_text(v) for v in row] for row in page]

    r = world.get(path, lang=lang, format="xlsx", **params)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    [(name, rows)] = read_xlsx(r.content).items()
    assert name == body["title"][lang]
    assert rows[0] == header
    assert [row + [None] * (len(keys) - len(row)) for row in rows[1:]] == page


def test_csv_guards_against_formulas(world: World) -> None:
    r = world.get("/api/lists/resources", format="csv", role="dispatcher")
    [row] = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert row["电话"] == "'+8613800000001"
    r = world.get("/api/lists/resources", format="xlsx", role="dispatcher")
    [rows] = read_xlsx(r.content).values()
    assert rows[1][rows[0].index("电话")] == "+8613800000001"  # no formulas in an xlsx of inline strings


# --- the yearly summary -----------------------------------------------------------------------


def test_yearly_summary_numbers(world: World) -> None:
    body = world.json("/api/lists/summary", year=2026)
    assert body["year"] == 2026
    assert body["period"] == {"from": "2025-12-31T16:00:00.000Z", "to": "2026-12-31T16:00:00.000Z",
                              "time_zone": "Asia/Shanghai"}
    rows = {r["grid"]: r for r in body["rows"]}
    community, g1, g2 = rows[""], rows["G1"], rows["G2"]
    assert body["rows"][0] is not None and body["rows"][0]["scope"] == "全社区"
    assert (g1["scope"], g2["scope"]) == ("第一网格", "G2")  # a grid's name when it has one
    expect = {
        "needs": (8, 5, 3), "requests": (4, 3, 1), "filings": (5, 4, 1), "services_done": (5, 3, 2),
        "repairs_done": (2, 1, 1), "repairs_on_target_pct": (50.0, 100.0, 0.0), "ratings": (2, 1, 1),
        "avg_rating": (4.0, 5.0, 3.0), "onsite_decided": (6, 3, 3), "onsite_on_time": (3, 3, 0),
        "onsite_pct": (50.0, 100.0, 0.0), "emergencies": (2, 1, 1), "emergency_onsite_pct": (50.0, 100.0, 0.0),
        "care_due": (2, 1, 1), "care_done": (1, 1, 0), "care_missed": (1, 0, 1), "care_done_pct": (50.0, 100.0, 0.0),
    }
    got = {k: (community[k], g1[k], g2[k]) for k in expect}
    assert got == expect
    assert body["needs_by_category"][""] == {"care": 2, "emergency": 2, "request": 4}
    assert {d["key"] for d in body["definitions"]} <= {c["key"] for c in body["columns"]}
    # % on target is the response report's, grid by grid
    report = world.json("/api/reports/response", **{"from": "2026-01-01", "to": "2026-12-31"})
    assert {g["key"]: g["onsite"]["pct"] for g in report["by_grid"]} == {"G1": 100.0, "G2": 0.0}
    assert report["emergency_onsite"]["pct"] == community["emergency_onsite_pct"]
    # another year: nothing, but every named grid is listed
    empty = world.json("/api/lists/summary", year=2025)
    assert [(r["grid"], r["needs"], r["avg_rating"], r["onsite_pct"]) for r in empty["rows"]] == \
        [("", 0, None, None), ("G1", 0, None, None)]
    assert world.json("/api/lists/summary")["year"] == 2026  # default: this year, community time
    assert world.get("/api/lists/summary", year=1999).status_code == 422


# --- the pages --------------------------------------------------------------------------------


@contextmanager
def served(world: World, db_url: str) -> Iterator[str]:
    """The gateway on a free port, over the world's database, its clock at the world's now."""
    uvicorn = pytest.importorskip("uvicorn")
    app = with_routers(create_app(Settings(db_url=db_url, ingest=False, scheduler_interval=0),
                                  clock=FakeClock(world.clock.now)))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.browser
@pytest.mark.integration
@pytest.mark.skipif(not CHROMIUM.exists(), reason="no headless Chromium at /usr/bin/chromium")
def test_the_pages_show_what_the_exports_hold(world: World, db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("the pages read the same API; one database is enough")
    sync_api = pytest.importorskip("playwright.sync_api")
    token = world.who["admin"]["Authorization"].split()[1]
    with served(world, db_url) as base, launch_browser(sync_api) as browser, \
            new_page(browser, viewport={"width": 1400, "height": 900}) as pg:
        pg.context.add_cookies([{"name": "shewu_session", "value": token, "url": base}])

        def shown() -> list[list[str]]:
            pg.wait_for_function("document.getElementById('main').getAttribute('aria-busy') === 'false'"
                                 " && !!document.querySelector('#table-box table')")
            return pg.eval_on_selector("#table-box table", """t => Array.from(t.rows).map(
                r => Array.from(r.cells).map(c => c.textContent))""")

        def exported(link: str) -> list[list[str]]:
            href = pg.get_attribute(link, "href") or ""
            r = pg.request.get(base + href)
            assert r.ok, href
            return list(csv.reader(io.StringIO(r.body().decode("utf-8-sig"))))

        for name, lang in (("needs", "zh"), ("services", "zh"), ("resources", "zh"), ("services", "en")):
            pg.goto(f"{base}/lists.html?list={name}&from=2026-03-01&to=2026-03-12")
            if lang == "en":
                pg.click("#lang-toggle")
                pg.wait_for_function("document.querySelector('#table-box th').textContent === 'Order'")
            table = shown()
            assert len(table) > 1, name
            csv_rows = exported("#export-csv")
            assert table[0] == csv_rows[0], name
            assert [[c.lstrip("'") for c in row] for row in csv_rows[1:]] == table[1:], name
        pg.click("#lang-toggle")  # back to Chinese for the summary

        pg.goto(f"{base}/summary.html?year=2026")
        pg.wait_for_function("document.getElementById('main').getAttribute('aria-busy') === 'false'"
                             " && !!document.querySelector('#table table')")
        table = pg.eval_on_selector("#table table", """t => Array.from(t.rows).map(
            r => Array.from(r.cells).map(c => c.textContent))""")
        csv_rows = exported("#export-csv")
        header, body = csv_rows[0], csv_rows[1:]
        assert table[0][1:] == [row[0] for row in body]  # a column per community or grid
        for line in table[1:]:  # a line per number, the same numbers
            i = header.index(line[0])
            assert [float(c) if c else None for c in line[1:]] == [float(r[i]) if r[i] else None for r in body], line
        assert pg.locator("#cards .rep-card").count() == 6 and pg.locator("#chart svg rect.bar").count() == 4
