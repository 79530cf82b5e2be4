"""Response reports over HTTP: orders opened, worked and escalated by the real services with an
advancing clock, then the JSON numbers, the CSV exports, the breach review and who may see them."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from device_adapters.events import DeviceEvent, EventKind
from gateway.app import create_app
from gateway.config import Settings
from gateway.domain.orders import Action
from gateway.services.escalation import fire_due
from gateway.services.events import apply_events
from gateway.services.order_actions import act
from gateway.storage import crud
from gateway.storage.db import session
from tests.accounts import bearer, user_token
from tests.fakes import FakeClock

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
S = timedelta(seconds=1)
MIN = timedelta(minutes=1)


@dataclass
class World:
    client: TestClient
    clock: FakeClock
    engine: Engine
    ids: dict[str, int]

    def headers(self, name: str, role: str, **profile: object) -> dict[str, str]:
        return bearer(user_token(self.engine, name, role, **profile))


def _open(engine: Engine, now: datetime, device: str, kind: EventKind) -> int:
    with session(engine) as s:
        [change] = apply_events(s, [DeviceEvent(device_id=device, kind=kind, at=now, source="native")], now=now)
        s.commit()
    return change.order_id


def _act(engine: Engine, now: datetime, order_id: int, action: Action, actor: str = "xiaoliu", **kw: Any) -> None:
    with session(engine) as s:
        act(s, order_id=order_id, action=action, actor=actor, now=now, **kw)
        s.commit()


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    """Four orders opened at T0 and worked until T0 + 30 min; now is T0 + 40 min.

    - A: SOS in G1, ack +30 s, dispatched to li (team property) +2 min, arrives +10 min, resolved +20 min;
    - B: fall in G2, dispatched unacknowledged to wang (team community) +3 min (an implied ack), the
      ladder records the on-site breach at +15 min, arrives +18 min, resolved +30 min and closed;
    - C: leak in G1 (a repair ticket, target 1 h), dispatched to li +5 min, nobody there yet;
    - D: SOS in G1, cancelled as a false alarm +2 min.
    """
    clock = FakeClock(T0)
    settings = Settings(db_url=db_url, ingest=False, scheduler_interval=0)
    with TestClient(create_app(settings, clock=clock)) as c:
        engine = c.app.state.runtime.engine  # type: ignore[attr-defined]
        c.headers.update(bearer(user_token(engine, "admin", "admin")))
        user_token(engine, "li", "technician", team="property", skills=["plumbing"])
        user_token(engine, "wang", "technician", team="community")
        for device, kind, grid in (("a-sos", "sos", "G1"), ("b-fall", "fall", "G2"), ("c-leak", "leak", "G1"),
                                   ("d-sos", "sos", "G1")):
            r = c.post("/api/devices", json={"device_id": device, "kind": kind, "grid": grid, "resident": "王秀英"})
            assert r.status_code == 201, r.text
        ids = {
            "A": _open(engine, T0, "a-sos", EventKind.SOS),
            "B": _open(engine, T0, "b-fall", EventKind.FALL),
            "C": _open(engine, T0, "c-leak", EventKind.LEAK),
            "D": _open(engine, T0, "d-sos", EventKind.SOS),
        }
        steps: list[tuple[timedelta, str, Action, dict[str, Any]]] = [
            (30 * S, "A", Action.ACK, {}),
            (2 * MIN, "A", Action.DISPATCH, {"technician": "li"}),
            (2 * MIN, "D", Action.CANCEL, {"reason": "误报，已电话确认"}),
            (3 * MIN, "B", Action.DISPATCH, {"technician": "wang"}),
            (5 * MIN, "C", Action.DISPATCH, {"technician": "li"}),
            (10 * MIN, "A", Action.ARRIVE, {}),
            (18 * MIN, "B", Action.ARRIVE, {}),
            (20 * MIN, "A", Action.RESOLVE, {}),
            (30 * MIN, "B", Action.RESOLVE, {}),
            (30 * MIN, "B", Action.CLOSE, {}),
        ]
        for at, name, action, kw in steps:
            if at >= 18 * MIN and clock.now < T0 + 15 * MIN:
                clock.now = T0 + 15 * MIN
                with session(engine) as s:
                    fired, _ = fire_due(s, now=clock.now, instance="test")
                    s.commit()
                assert [(f.order_id, f.step) for f in fired if f.breach] == [(ids["B"], "onsite_breached")]
            clock.now = T0 + at
            _act(engine, clock.now, ids[name], action, **kw)
        clock.now = T0 + 40 * MIN
        yield World(c, clock, engine, ids)


def test_response_numbers(world: World) -> None:
    r = world.client.get("/api/reports/response")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["period"] == {"from": "2026-10-29T04:40:00.000Z", "to": "2026-11-28T04:40:00.000Z",
                              "time_zone": "Asia/Shanghai"}
    assert body["orders"] == 4
    # acknowledged: A 30 s, B 180 s (implied by the dispatch), C 300 s (a ticket's dispatch); D never
    assert body["summary"]["tta"] == {"count": 3, "median_s": 180.0, "p90_s": 300.0, "max_s": 300.0, "mean_s": 170.0}
    assert body["summary"]["ttos"] == {"count": 2, "median_s": 600.0, "p90_s": 1080.0, "max_s": 1080.0,
                                       "mean_s": 840.0}
    assert body["summary"]["ttr"]["count"] == 2 and body["summary"]["ttr"]["max_s"] == 1800.0
    assert body["by_category"]["repair"]["tta"]["count"] == 1
    assert body["emergency_onsite"] == {"target_s": 900.0, "decided": 2, "on_time": 1, "late": 1, "missed": 0,
                                        "pending": 0, "cancelled": 1, "pct": 50.0}
    hist = body["onsite_histogram"]
    assert hist["target_s"] == 900.0 and len(hist["bins"]) == 31
    assert [(b["from_s"], b["count"]) for b in hist["bins"] if b["count"]] == [(600.0, 1), (1080.0, 1)]

    [breach] = body["breaches"]
    assert breach["order_id"] == world.ids["B"] and breach["steps"] == ["onsite_breached"]
    assert breach["late_s"] == 180.0 and breach["outcome"] == "late" and breach["reason"] is None
    assert breach["recorded_at"] == "2026-11-28T04:15:00.000Z" and breach["team"] == "community"
    assert body["breach_reason_counts"] == {"unreviewed": 1}

    grid = {g["key"]: g for g in body["by_grid"]}
    assert list(grid) == ["G1", "G2"]
    assert (grid["G1"]["orders"], grid["G1"]["acknowledged"], grid["G1"]["mtta_s"]) == (3, 2, 165.0)
    assert (grid["G1"]["resolved"], grid["G1"]["mttr_s"]) == (1, 1200.0)
    assert grid["G1"]["onsite"] == {"decided": 1, "on_time": 1, "late": 0, "missed": 0, "pending": 1,
                                    "cancelled": 1, "pct": 100.0}
    assert grid["G2"]["breaches"] == 1 and grid["G2"]["onsite"]["pct"] == 0.0
    team = {g["key"]: g for g in body["by_team"]}
    assert list(team) == ["community", "property", "unassigned"]
    assert (team["property"]["orders"], team["property"]["mtta_s"]) == (2, 165.0)
    assert (team["community"]["mtta_s"], team["community"]["mttr_s"]) == (180.0, 1800.0)
    assert team["unassigned"]["orders"] == 1
    assert [(m["key"], m["orders"]) for m in body["by_month"]] == [("2026-10", 0), ("2026-11", 4)]


def test_filters_and_period(world: World) -> None:
    c = world.client
    body = c.get("/api/reports/response", params={"category": "emergency"}).json()
    assert body["orders"] == 3 and body["filters"]["category"] == ["emergency"]
    assert c.get("/api/reports/response", params={"kind": "leak"}).json()["orders"] == 1
    assert c.get("/api/reports/response", params=[("kind", "sos"), ("kind", "fall")]).json()["orders"] == 3
    body = c.get("/api/reports/response", params={"grid": "G2"}).json()
    assert body["orders"] == 1 and [g["key"] for g in body["by_grid"]] == ["G2"]
    # local dates: 28 November in Shanghai holds the orders, 27 November does not
    body = c.get("/api/reports/response", params={"from": "2026-11-28", "to": "2026-11-28"}).json()
    assert body["period"]["from"] == "2026-11-27T16:00:00.000Z" and body["orders"] == 4
    assert c.get("/api/reports/response", params={"from": "2026-11-01", "to": "2026-11-27"}).json()["orders"] == 0
    body = c.get("/api/reports/response", params={"from": "2026-11-28T04:00:00Z", "to": "2026-11-28T04:00:01Z"}).json()
    assert body["orders"] == 4
    for bad in ({"from": "2026-11-28", "to": "2026-11-01"}, {"from": "last week"}):
        r = c.get("/api/reports/response", params=bad)
        assert r.status_code == 422, r.text


def _csv(r: Any) -> list[dict[str, str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"].startswith('attachment; filename="shewu-')
    assert r.content.startswith(b"\xef\xbb\xbf")  # a BOM, for Excel
    return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))


def test_csv_exports(world: World) -> None:
    rows = {int(r["order_id"]): r for r in _csv(world.client.get("/api/reports/response.csv"))}
    assert set(rows) == set(world.ids.values())
    a, b, d = rows[world.ids["A"]], rows[world.ids["B"]], rows[world.ids["D"]]
    assert (a["tta_s"], a["ttos_s"], a["ttr_s"], a["onsite_outcome"], a["breach"]) == ("30.0", "600.0", "1200.0",
                                                                                       "on_time", "no")
    assert a["opened_at"] == "2026-11-28T04:00:00.000Z" and a["opened_local"] == "2026-11-28 12:00:00"
    assert (a["team"], a["grid"], a["month"]) == ("property", "G1", "2026-11")
    assert (b["breach"], b["breach_steps"], b["late_s"], b["breach_reason"]) == ("yes", "onsite_breached", "180.0", "")
    assert (d["onsite_outcome"], d["cancel_reason"], d["tta_s"]) == ("cancelled", "误报，已电话确认", "")

    groups = _csv(world.client.get("/api/reports/response-groups.csv", params={"category": "emergency"}))
    assert [(g["group"], g["key"]) for g in groups] == [
        ("all", ""), ("grid", "G1"), ("grid", "G2"), ("team", "community"), ("team", "property"),
        ("team", "unassigned"), ("month", "2026-10"), ("month", "2026-11")]
    assert (groups[0]["orders"], groups[0]["onsite_pct"], groups[0]["breaches"]) == ("3", "50.0", "1")


def test_breach_reason_review(world: World) -> None:
    c, b = world.client, world.ids["B"]
    reasons = c.get("/api/reports/breach-reasons").json()
    assert {"code": "traffic", "zh": "交通拥堵或路途远", "en": "Traffic or distance"} in reasons
    assert reasons[-1]["code"] == "other"

    staff = world.headers("xiaoliu", "dispatcher")
    r = c.put(f"/api/reports/breaches/{b}", json={"reason": "traffic", "note": "晚高峰堵车"}, headers=staff)
    assert r.status_code == 200, r.text
    assert (r.json()["reason"], r.json()["note"], r.json()["reviewed_by"]) == ("traffic", "晚高峰堵车", "xiaoliu")
    world.clock.now += MIN
    r = c.put(f"/api/reports/breaches/{b}", json={"reason": "no_technician_available"})  # admin, later: wins
    assert r.status_code == 200 and r.json()["reason"] == "no_technician_available"
    assert r.json()["reviewed_by"] == "admin" and r.json()["note"] is None

    body = c.get("/api/reports/response").json()
    assert body["breaches"][0]["reason"] == "no_technician_available"
    assert body["breach_reason_counts"] == {"no_technician_available": 1}
    row = next(r for r in _csv(c.get("/api/reports/response.csv")) if int(r["order_id"]) == b)
    assert (row["breach_reason"], row["breach_reason_zh"], row["reviewed_by"]) == ("no_technician_available",
                                                                                  "无可派人员", "admin")
    with session(world.engine) as s:  # appended to the (closed) order's timeline, never rewritten
        entries = [e for e in crud.timeline_for(s, order_id=b) if e.action == "breach_reason"]
    assert [(e.actor, e.data) for e in entries] == [("xiaoliu", {"reason": "traffic"}),
                                                    ("admin", {"reason": "no_technician_available"})]

    assert c.put(f"/api/reports/breaches/{world.ids['A']}", json={"reason": "traffic"}).status_code == 409
    assert c.put(f"/api/reports/breaches/{world.ids['D']}", json={"reason": "traffic"}).status_code == 409
    assert c.put("/api/reports/breaches/9999", json={"reason": "traffic"}).status_code == 404
    r = c.put(f"/api/reports/breaches/{b}", json={"reason": "aliens"})
    assert r.status_code == 422 and "unknown reason" in r.json()["detail"]
    assert c.put(f"/api/reports/breaches/{b}", json={}).status_code == 422


def test_a_csv_cell_is_never_a_formula(world: World) -> None:
    _act(world.engine, world.clock.now, world.ids["C"], Action.CANCEL, reason="=HYPERLINK(\"http://x\")")
    row = next(r for r in _csv(world.client.get("/api/reports/response.csv")) if int(r["order_id"]) == world.ids["C"])
    assert row["cancel_reason"].startswith("'=")


def test_who_may_see_reports(world: World) -> None:
    c, b = world.client, world.ids["B"]
    paths = ["/api/reports/response", "/api/reports/response.csv", "/api/reports/response-groups.csv",
             "/api/reports/breach-reasons"]
    for name, role, profile in (("li2", "technician", {}), ("gw", "grid_worker", {"grid": "G2"}),
                                ("res", "resident", {})):
        h = world.headers(name, role, **profile)
        for path in paths:
            assert c.get(path, headers=h).status_code == 403, (role, path)
        assert c.put(f"/api/reports/breaches/{b}", json={"reason": "traffic"}, headers=h).status_code == 403
    c.headers.pop("Authorization")
    for path in paths:
        r = c.get(path)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert c.put(f"/api/reports/breaches/{b}", json={"reason": "traffic"}).status_code == 401
    # a dispatcher reads them
    assert c.get("/api/reports/response", headers=world.headers("xiaoliu", "dispatcher")).status_code == 200
