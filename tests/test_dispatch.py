"""Dispatch (派单) and take-up (接单): the choice of technician (skill, duty, load, nearness),
reject and re-dispatch, and automatic dispatch as a timer run by the scheduler."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from device_adapters.events import DeviceEvent, EventKind
from gateway.app import create_app
from gateway.config import Settings
from gateway.domain.dispatch import Candidate, propose
from gateway.services.events import apply_events
from gateway.storage.db import session
from tests.accounts import bearer, user_token
from tests.fakes import FakeClock

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def c(name: str, skills: str = "plumbing", status: str = "available", grid: str = "", building: str = "",
      load: int = 0) -> Candidate:
    return Candidate(name=name, skills=frozenset(skills.split(",")), status=status, grid=grid, building=building,
                     load=load)


def names(cands: list[Candidate], **kw: str) -> list[str]:
    return [p.name for p in propose(cands, skill=kw.get("skill", "plumbing"), grid=kw.get("grid", "G1"),
                                    address=kw.get("address", "3栋2单元101"))]


def test_skill_is_required_and_off_duty_excluded() -> None:
    assert names([c("a", "electrical"), c("b"), c("z", status="off_duty")]) == ["b"]


def test_available_before_busy_then_least_loaded() -> None:
    assert names([c("busy", status="busy"), c("loaded", load=3), c("free", load=1)]) == ["free", "loaded", "busy"]


def test_nearest_by_building_then_grid_at_equal_load() -> None:
    cands = [c("far", grid="G9"), c("grid", grid="G1"), c("bldg", grid="G9", building="3栋")]
    assert names(cands) == ["bldg", "grid", "far"]
    assert names([c("b2"), c("a2")]) == ["a2", "b2"]  # a stable tie-break


def test_load_outranks_nearness() -> None:
    assert names([c("near", building="3栋", load=2), c("far", load=0)]) == ["far", "near"]


def test_exclude_those_who_rejected() -> None:
    assert [p.name for p in propose([c("a"), c("b")], skill="plumbing", grid="", address="", exclude=["a"])] == ["b"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def client(db_url: str, clock: FakeClock) -> Iterator[TestClient]:
    settings = Settings(db_url=db_url, ingest=False, scheduler_interval=0)
    with TestClient(create_app(settings, clock=clock)) as cl:
        engine = cl.app.state.runtime.engine  # type: ignore[attr-defined]
        cl.headers.update(bearer(user_token(engine, "duty", "dispatcher")))
        cl.admin = bearer(user_token(engine, "boss", "admin"))  # type: ignore[attr-defined]
        cl.techs = {  # type: ignore[attr-defined]
            "wang": bearer(user_token(engine, "wang", "technician", skills=["plumbing"], grid="G1")),
            "zhao": bearer(user_token(engine, "zhao", "technician", skills=["plumbing"], grid="G2")),
            "qian": bearer(user_token(engine, "qian", "technician", skills=["electrical"], grid="G1")),
        }
        yield cl


def leak(client: TestClient, device: str = "leak-1", grid: str = "G1") -> int:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    client.post("/api/devices", json={"device_id": device, "grid": grid, "address": "3栋101"},
                headers=client.admin)  # type: ignore[attr-defined]
    with session(runtime.engine) as s:
        [change] = apply_events(s, [DeviceEvent(device_id=device, kind=EventKind.LEAK, at=runtime.clock(),
                                                source="native")], now=runtime.clock())
        s.commit()
    return change.order_id


def timeline(client: TestClient, oid: int) -> list[tuple[str, str]]:
    return [(e["action"], e["actor"]) for e in client.get(f"/api/orders/{oid}").json()["timeline"]]


def test_proposals_over_the_api(client: TestClient) -> None:
    oid = leak(client)
    assert [p["name"] for p in client.get(f"/api/orders/{oid}/proposals").json()] == ["wang", "zhao"]
    client.put("/api/me/status", json={"status": "off_duty"}, headers=client.techs["wang"])  # type: ignore[attr-defined]
    assert [p["name"] for p in client.get(f"/api/orders/{oid}/proposals").json()] == ["zhao"]
    r = client.get(f"/api/orders/{oid}/proposals", headers=client.techs["zhao"])  # type: ignore[attr-defined]
    assert r.status_code == 403


def test_dispatch_needs_a_known_active_user(client: TestClient) -> None:
    oid = leak(client)
    r = client.post(f"/api/orders/{oid}/dispatch", json={"technician": "nobody"})
    assert r.status_code == 409 and "nobody" in r.json()["detail"]
    client.patch("/api/users/zhao", json={"active": False}, headers=client.admin)  # type: ignore[attr-defined]
    assert client.post(f"/api/orders/{oid}/dispatch", json={"technician": "zhao"}).status_code == 409


def test_reject_puts_it_back_and_redispatch_works(client: TestClient, clock: FakeClock) -> None:
    oid = leak(client)
    client.post(f"/api/orders/{oid}/dispatch", json={"technician": "wang"})
    wang = client.techs["wang"]  # type: ignore[attr-defined]
    assert client.post(f"/api/orders/{oid}/reject", json={}, headers=wang).status_code == 409  # needs a reason
    r = client.post(f"/api/orders/{oid}/reject", json={"reason": "缺少配件"}, headers=wang)
    assert r.status_code == 200 and (r.json()["status"], r.json()["assignee"]) == ("new", None)
    # the one who rejected is proposed last no more: he is left out
    assert [p["name"] for p in client.get(f"/api/orders/{oid}/proposals").json()] == ["zhao"]
    # the ladder keeps running: 10 minutes with nobody dispatched → escalation
    clock.now = T0 + timedelta(minutes=10)
    fired, _ = client.app.state.runtime.scheduler.run_once()  # type: ignore[attr-defined]
    assert [f.step for f in fired] == ["opened", "dispatch_overdue"]  # (no scheduler ran before)
    r = client.post(f"/api/orders/{oid}/dispatch", json={"technician": "zhao"})
    assert r.json()["assignee"] == "zhao"
    zhao = client.techs["zhao"]  # type: ignore[attr-defined]
    for action in ("accept", "depart", "arrive"):
        assert client.post(f"/api/orders/{oid}/{action}", json={}, headers=zhao).status_code == 200
    assert client.post(f"/api/orders/{oid}/resolve", json={"note": "换了阀门"}, headers=zhao).json()["status"] == \
        "resolved"
    assert [a for a, _ in timeline(client, oid)] == ["opened", "dispatch", "reject", "escalation", "escalation",
                                                     "dispatch", "accept", "depart", "arrive", "resolve"]


def test_emergency_reject_goes_back_to_acknowledged(client: TestClient) -> None:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with session(runtime.engine) as s:
        [change] = apply_events(s, [DeviceEvent(device_id="sos-1", kind=EventKind.SOS, at=T0, source="native")],
                                now=T0)
        s.commit()
    oid = change.order_id
    client.post(f"/api/orders/{oid}/dispatch", json={"technician": "wang"})
    r = client.post(f"/api/orders/{oid}/reject", json={"reason": "在外地"}, headers=client.techs["wang"])  # type: ignore[attr-defined]
    assert (r.json()["status"], r.json()["acknowledged_at"] is not None) == ("acknowledged", True)


def test_auto_dispatch_is_a_timer_and_redispatches_after_reject(client: TestClient, clock: FakeClock) -> None:
    scheduler = client.app.state.runtime.scheduler  # type: ignore[attr-defined]
    off = leak(client, "leak-off")
    scheduler.run_once()
    assert client.get(f"/api/orders/{off}").json()["status"] == "new"  # automatic dispatch is off by default
    r = client.put("/api/dispatch/settings/leak", json={"skill": "plumbing", "auto": True},
                   headers=client.admin)  # type: ignore[attr-defined]
    assert r.status_code == 200
    assert client.get("/api/dispatch/settings").json()["leak"] == {"skill": "plumbing", "auto": True}
    oid = leak(client, "leak-on", grid="G2")
    fired, _ = scheduler.run_once()
    assert [(f.order_id, f.step) for f in fired] == [(oid, "auto_dispatch")]
    assert client.get(f"/api/orders/{oid}").json()["assignee"] == "zhao"  # same grid
    assert scheduler.run_once()[0] == []  # once
    client.post(f"/api/orders/{oid}/reject", json={"reason": "病假"}, headers=client.techs["zhao"])  # type: ignore[attr-defined]
    scheduler.run_once()
    assert client.get(f"/api/orders/{oid}").json()["assignee"] == "wang"  # the next one, not zhao again
    client.post(f"/api/orders/{oid}/reject", json={"reason": "忙"}, headers=client.techs["wang"])  # type: ignore[attr-defined]
    scheduler.run_once()
    detail = client.get(f"/api/orders/{oid}").json()
    assert (detail["status"], detail["assignee"]) == ("new", None)
    assert detail["timeline"][-1]["action"] == "auto_dispatch_failed"  # nobody left: said, not silent
    assert ("dispatch", "shewu:auto-dispatch") in timeline(client, oid)


def test_auto_dispatch_never_overrides_a_persons_dispatch(client: TestClient) -> None:
    client.put("/api/dispatch/settings/leak", json={"skill": "plumbing", "auto": True},
               headers=client.admin)  # type: ignore[attr-defined]
    oid = leak(client, "leak-race", grid="G2")  # the timer says zhao; a person sends wang first
    assert client.post(f"/api/orders/{oid}/dispatch", json={"technician": "wang"}).status_code == 200
    client.app.state.runtime.scheduler.run_once()  # type: ignore[attr-defined]
    detail = client.get(f"/api/orders/{oid}").json()
    assert detail["assignee"] == "wang"
    assert [e["action"] for e in detail["timeline"]] == ["opened", "dispatch"]


def test_on_the_way_can_still_turn_back_or_be_redispatched(client: TestClient) -> None:
    oid = leak(client)
    client.post(f"/api/orders/{oid}/dispatch", json={"technician": "wang"})
    wang = client.techs["wang"]  # type: ignore[attr-defined]
    assert client.post(f"/api/orders/{oid}/depart", json={}, headers=wang).json()["status"] == "en_route"
    r = client.post(f"/api/orders/{oid}/reject", json={"reason": "车坏了"}, headers=wang)
    assert (r.json()["status"], r.json()["departed_at"]) == ("new", None)
    client.post(f"/api/orders/{oid}/dispatch", json={"technician": "zhao"})
    client.post(f"/api/orders/{oid}/depart", json={}, headers=client.techs["zhao"])  # type: ignore[attr-defined]
    r = client.post(f"/api/orders/{oid}/dispatch", json={"technician": "wang"})  # sent elsewhere on the way
    assert (r.json()["status"], r.json()["assignee"]) == ("dispatched", "wang")


def test_only_people_who_can_work_an_order_are_sent(client: TestClient) -> None:
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    user_token(engine, "granny", "resident")
    sun = bearer(user_token(engine, "sun", "grid_worker", grid="G1"))
    oid = leak(client)
    r = client.post(f"/api/orders/{oid}/dispatch", json={"technician": "granny"})
    assert r.status_code == 409 and "resident" in r.json()["detail"]
    assert client.post(f"/api/orders/{oid}/accept", json={}, headers=sun).status_code == 403  # not theirs yet
    assert client.post(f"/api/orders/{oid}/dispatch", json={"technician": "sun"}).status_code == 200
    assert client.post(f"/api/orders/{oid}/accept", json={}, headers=sun).json()["status"] == "accepted"
