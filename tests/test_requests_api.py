"""Residents' requests through the API: the whole loop (request → dispatch → accept → resolve
→ confirm with a rating, each step on the timeline), reopen, auto-close after 72 h, a repeat
linked to the open request, the third-party state with its clock running, photos, working-hour
targets, and who may do what."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.config import Settings
from gateway.domain.requests import CATEGORIES, due_times
from gateway.storage.db import session
from gateway.storage.models import Home, User
from tests.accounts import bearer, user_token
from tests.fakes import FakeClock

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def client(db_url: str, clock: FakeClock, tmp_path: object) -> Iterator[TestClient]:
    settings = Settings(db_url=db_url, ingest=False, scheduler_interval=0, photo_dir=f"{tmp_path}/photos")
    with TestClient(create_app(settings, clock=clock)) as c:
        engine = c.app.state.runtime.engine  # type: ignore[attr-defined]
        with session(engine) as s:
            s.add(Home(home_id="3-2-101", address="3栋2单元101", grid="G1", resident="王秀英"))
            s.add(Home(home_id="5-1-201", address="5栋1单元201", grid="G2", resident="赵大爷"))
            s.commit()
        c.who = {  # type: ignore[attr-defined]
            "duty": bearer(user_token(engine, "duty", "dispatcher")),
            "wang": bearer(user_token(engine, "wang", "technician", skills=["plumbing"])),
            "sun": bearer(user_token(engine, "sun", "grid_worker", grid="G1")),
            "granny": bearer(user_token(engine, "granny", "resident")),
            "stranger": bearer(user_token(engine, "stranger", "resident")),
        }
        with session(engine) as s:
            granny = s.get(User, "granny")
            assert granny is not None
            granny.home_id = "3-2-101"
            s.add(granny)
            s.commit()
        yield c


def h(client: TestClient, who: str) -> dict[str, str]:
    return client.who[who]  # type: ignore[attr-defined,no-any-return]


def file(client: TestClient, who: str = "granny", **body: object) -> dict:  # type: ignore[type-arg]
    r = client.post("/api/requests", json={"category": "repair_plumbing", "description": "厨房水龙头漏水", **body},
                    headers=h(client, who))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def timeline(client: TestClient, oid: int) -> list[tuple[str, str]]:
    detail = client.get(f"/api/orders/{oid}", headers=h(client, "duty")).json()
    return [(e["action"], e["actor"]) for e in detail["timeline"]]


def test_the_whole_loop_with_a_rating(client: TestClient, clock: FakeClock) -> None:
    filed = file(client, preferred_time="下午")
    oid = filed["order_id"]
    assert not filed["linked"] and f"#{oid}" in filed["answer"]  # every request gets an answer
    order = filed["order"]
    assert (order["category"], order["kind"], order["status"], order["home_id"]) == \
        ("request", "repair_plumbing", "new", "3-2-101")
    assert order["resident"] == "王秀英"
    for action, who, body in (("dispatch", "duty", {"technician": "wang"}), ("accept", "wang", {}),
                              ("arrive", "wang", {}), ("resolve", "wang", {"note": "换了阀芯"})):
        clock.now += timedelta(minutes=20)
        r = client.post(f"/api/orders/{oid}/{action}", json=body, headers=h(client, who))
        assert r.status_code == 200, r.text
    mine = client.get("/api/requests", headers=h(client, "granny")).json()
    assert [(m["order_id"], m["order"]["status"]) for m in mine] == [(oid, "resolved")]
    r = client.post(f"/api/requests/{oid}/confirm", json={"rating": 5, "comment": "师傅很专业"},
                    headers=h(client, "granny"))
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert client.get("/api/requests", headers=h(client, "granny")).json()[0]["rating"] == 5
    assert timeline(client, oid) == [("opened", "granny"), ("dispatch", "duty"), ("accept", "wang"),
                                     ("arrive", "wang"), ("resolve", "wang"), ("confirm", "granny"),
                                     ("rated", "granny")]


def test_a_repeat_is_linked_and_the_resident_told(client: TestClient) -> None:
    first = file(client)
    again = file(client, "sun", home_id="3-2-101", description="还在漏")  # the grid worker, on her behalf
    assert again["linked"] and again["order_id"] == first["order_id"]
    assert f"#{first['order_id']}" in again["answer"]
    assert again["order"]["event_count"] == 2
    assert ("linked_request", "sun") in timeline(client, first["order_id"])
    other = file(client, category="mediation", description="楼上噪音")  # another category: its own order
    assert other["order_id"] != first["order_id"]
    assert len(client.get("/api/requests", headers=h(client, "granny")).json()) == 3  # nothing dropped


def test_reopen_and_auto_close(client: TestClient, clock: FakeClock) -> None:
    oid = file(client)["order_id"]
    for action, who, body in (("dispatch", "duty", {"technician": "wang"}), ("arrive", "wang", {}),
                              ("resolve", "wang", {"note": "ok"})):
        client.post(f"/api/orders/{oid}/{action}", json=body, headers=h(client, who))
    r = client.post(f"/api/requests/{oid}/reopen", json={"reason": "还是漏"}, headers=h(client, "granny"))
    assert r.status_code == 200 and (r.json()["status"], r.json()["assignee"]) == ("new", None)
    assert file(client, description="again")["linked"]  # the reopened order takes repeats again
    for action, who, body in (("dispatch", "duty", {"technician": "wang"}), ("arrive", "wang", {}),
                              ("resolve", "wang", {"note": "换了整个龙头"})):
        client.post(f"/api/orders/{oid}/{action}", json=body, headers=h(client, who))
    scheduler = client.app.state.runtime.scheduler  # type: ignore[attr-defined]
    clock.now += timedelta(hours=71)
    scheduler.run_once()
    assert client.get(f"/api/orders/{oid}", headers=h(client, "duty")).json()["status"] == "resolved"
    clock.now += timedelta(hours=1, seconds=1)
    scheduler.run_once()
    detail = client.get(f"/api/orders/{oid}", headers=h(client, "duty")).json()
    assert detail["status"] == "closed"
    last = detail["timeline"][-1]
    assert (last["action"], last["actor"]) == ("close", "shewu:auto-close") and "72" in last["note"]


def test_the_third_party_state_keeps_its_clock(client: TestClient, clock: FakeClock) -> None:
    oid = file(client, category="repair_electrical", description="整栋跳闸")["order_id"]
    for action, who, body in (("dispatch", "duty", {"technician": "wang"}), ("arrive", "wang", {})):
        client.post(f"/api/orders/{oid}/{action}", json=body, headers=h(client, who))
    assert client.post(f"/api/orders/{oid}/third_party", json={}, headers=h(client, "wang")).status_code == 409
    r = client.post(f"/api/orders/{oid}/third_party", json={"reason": "供电局 State Grid"}, headers=h(client, "wang"))
    assert r.status_code == 200 and r.json()["status"] == "third_party"
    before = r.json()["clock"]["elapsed_s"]
    clock.now += timedelta(days=3)  # the resolution target (24 working hours) passes while waiting
    fired, _ = client.app.state.runtime.scheduler.run_once()  # type: ignore[attr-defined]
    assert "resolve_overdue" in [f.step for f in fired]  # the clock did not stop
    detail = client.get(f"/api/orders/{oid}", headers=h(client, "duty")).json()
    assert detail["status"] == "third_party" and detail["clock"]["elapsed_s"] > before + 3 * 86400 - 1
    assert next(e for e in detail["timeline"] if e["action"] == "third_party")["data"]["party"] == "供电局 State Grid"
    assert client.post(f"/api/orders/{oid}/resume", json={}, headers=h(client, "wang")).json()["status"] == "on_site"


def test_targets_count_working_hours() -> None:
    friday_evening = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)  # Friday 17:30 in Shanghai
    due = due_times(CATEGORIES["repair_plumbing"], friday_evening, SH)
    assert due.accept.astimezone(SH).strftime("%a %H:%M") == "Fri 18:00"  # the last 30 working minutes
    assert due.onsite.astimezone(SH).strftime("%a %H:%M") == "Sat 11:30"  # 4 working hours: the night is skipped


def test_photos_are_checked_and_private(client: TestClient) -> None:
    r = client.post("/api/requests/photos", content=PNG, headers={**h(client, "granny"), "content-type": "image/png"})
    assert r.status_code == 201
    photo = r.json()["photo"]
    bad = client.post("/api/requests/photos", content=b"<svg onload=alert(1)>",
                      headers={**h(client, "granny"), "content-type": "image/png"})
    assert bad.status_code == 415
    big = client.post("/api/requests/photos", content=PNG + b"\x00" * (5 * 1024 * 1024),
                      headers={**h(client, "granny"), "content-type": "image/png"})
    assert big.status_code == 413
    filed = file(client, photo=photo)
    assert filed["photo"] == photo
    assert client.get(f"/api/requests/photos/{photo}", headers=h(client, "granny")).content == PNG
    assert client.get(f"/api/requests/photos/{photo}", headers=h(client, "stranger")).status_code == 404
    assert client.get("/api/requests/photos/..%2Fshewu.db", headers=h(client, "duty")).status_code == 404
    r = client.post("/api/requests", json={"category": "cleaning", "description": "x", "photo": "0" * 32 + ".png"},
                    headers=h(client, "granny"))
    assert r.status_code == 422  # a photo that was never uploaded


def test_who_may_file_and_see(client: TestClient) -> None:
    r = client.post("/api/requests", json={"category": "cleaning", "description": "x"}, headers=h(client, "stranger"))
    assert r.status_code == 409  # a resident account without a home
    r = client.post("/api/requests", json={"category": "cleaning", "description": "x", "home_id": "5-1-201"},
                    headers=h(client, "sun"))
    assert r.status_code == 403  # another grid
    r = client.post("/api/requests", json={"category": "cleaning", "description": "x"}, headers=h(client, "wang"))
    assert r.status_code == 403  # technicians do not file
    r = client.post("/api/requests", json={"category": "nonsense", "description": "x"}, headers=h(client, "granny"))
    assert r.status_code == 422 and "category" in r.json()["detail"]
    oid = file(client)["order_id"]
    assert client.get("/api/requests", headers=h(client, "stranger")).json() == []
    r = client.post(f"/api/requests/{oid}/confirm", json={"rating": 5}, headers=h(client, "stranger"))
    assert r.status_code == 403
    r = client.post(f"/api/requests/{oid}/confirm", json={"rating": 9}, headers=h(client, "granny"))
    assert r.status_code == 422
    r = client.post(f"/api/requests/{oid}/confirm", json={"rating": 4}, headers=h(client, "granny"))
    assert r.status_code == 409  # not resolved yet


def test_a_resident_found_through_their_record_a_big_photo_and_resume(client: TestClient) -> None:
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    zhao = bearer(user_token(engine, "zhao", "resident"))
    r = client.post("/api/residents", json={"name": "赵大爷", "home_id": "5-1-201", "user": "zhao"},
                    headers=h(client, "duty"))
    assert r.status_code == 201, r.text
    big = PNG + b"\x00" * (2 * 1024 * 1024)  # over the API's 1 MiB bodies, under the 5 MB photo limit
    r = client.post("/api/requests/photos", content=big, headers={**zhao, "content-type": "image/png"})
    assert r.status_code == 201, r.text
    r = client.post("/api/requests", json={"category": "repair_electrical", "description": "灯不亮",
                                           "photo": r.json()["photo"]}, headers=zhao)
    assert r.status_code == 201 and r.json()["home_id"] == "5-1-201"
    oid = r.json()["order_id"]
    client.post(f"/api/orders/{oid}/dispatch", json={"technician": "wang"}, headers=h(client, "duty"))
    client.post(f"/api/orders/{oid}/accept", json={}, headers=h(client, "wang"))
    client.post(f"/api/orders/{oid}/third_party", json={"reason": "厂家"}, headers=h(client, "wang"))
    resumed = client.post(f"/api/orders/{oid}/resume", json={}, headers=h(client, "wang")).json()
    assert resumed["status"] == "on_site" and resumed["arrived_at"] is not None


def test_residents_see_the_latest_note(client: TestClient) -> None:
    oid = file(client)["order_id"]
    for action, who, body in (("dispatch", "duty", {"technician": "wang"}), ("arrive", "wang", {}),
                              ("resolve", "wang", {"note": "换了阀芯"})):
        client.post(f"/api/orders/{oid}/{action}", json=body, headers=h(client, who))
    [mine] = client.get("/api/requests", headers=h(client, "granny")).json()
    assert mine["last_note"]["note"] == "换了阀芯" and mine["last_note"]["action"] == "resolve"
