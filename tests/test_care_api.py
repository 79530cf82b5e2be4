"""Care plans (银龄关爱五件套): generation with an injected clock over a year and across leap
years, exactly once (run twice, run by two instances at once, after an edit); done and missed
through the orders API; the escalation of an overdue visit; the plan page's API and who may
use it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from threading import Barrier, Thread
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select
from starlette.routing import Mount

from gateway.app import create_app
from gateway.config import Settings
from gateway.domain.care import KINDS, occurrences
from gateway.services.accounts import create_user
from gateway.services.care import ItemSettings, generate_due, save_plan
from gateway.storage.care_models import CareItem, CareVisit
from gateway.storage.db import make_engine
from gateway.storage.db import session as open_session
from gateway.storage.models import EscalationStep, Home, Order, TimelineEntry
from tests.accounts import EPOCH, bearer, user_token

SH = ZoneInfo("Asia/Shanghai")
NEW_YEAR_2026 = datetime(2025, 12, 31, 16, 0, tzinfo=UTC)  # 2026-01-01 00:00 in Shanghai
T0 = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)  # Monday 2 March 2026, 00:00 in Shanghai


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH).astimezone(UTC)


# --- generation, straight on the database ---------------------------------------------------------


def seed(engine: Engine, *, homes: tuple[str, ...] = ("3-2-101",)) -> None:
    with open_session(engine) as s:
        for i, home_id in enumerate(homes):
            s.add(Home(home_id=home_id, address=f"{home_id}室", grid="G1", resident=f"老人{i}"))
        create_user(s, name="sun", role="grid_worker", password=None, now=EPOCH, grid="G1")
        s.commit()


def make_plan(engine: Engine, now: datetime, home_id: str = "3-2-101", items: list[ItemSettings] | None = None,
              enabled: bool = True) -> None:
    with open_session(engine) as s:
        home = s.get(Home, home_id)
        assert home is not None
        save_plan(s, home=home, resident=None, resident_id=None, enabled=enabled, items=items, now=now, tz=SH,
                  actor="duty")
        s.commit()


def generate(engine: Engine, now: datetime, **kw: Any) -> list[Any]:
    with open_session(engine) as s:
        out = generate_due(s, now=now, tz=SH, **kw)
        s.commit()
    return out.orders


def care_orders(engine: Engine) -> list[Order]:
    with open_session(engine) as s:
        return list(s.exec(select(Order).where(Order.category == "care").order_by(Order.id)).all())


def due_dates(engine: Engine) -> dict[int, date]:
    with open_session(engine) as s:
        return {v.order_id: v.due_date for v in s.exec(select(CareVisit)).all() if v.order_id is not None}


def test_a_year_of_default_plans_day_by_day(engine: Engine) -> None:
    seed(engine)
    make_plan(engine, NEW_YEAR_2026)
    now = NEW_YEAR_2026
    while now < local(2027, 1, 1, 23, 59):
        generate(engine, now)
        now += timedelta(hours=12)
    orders = care_orders(engine)
    assert Counter(o.kind for o in orders) == {"weekly_visit": 52, "monthly_activity": 12, "quarterly_clinic": 4,
                                               "yearly_survey": 1}
    dates = due_dates(engine)
    for kind, care in KINDS.items():
        assert sorted(dates[o.id] for o in orders if o.kind == kind and o.id) == \
            occurrences(care.rule, date(2026, 1, 1), date(2026, 12, 31))
    for o in orders:
        assert o.id is not None
        day = dates[o.id]
        assert (o.priority, o.status, o.assignee, o.resident) == ("P3", "dispatched", "sun", "老人0")
        assert o.onsite_due_at == local(day.year, day.month, day.day) + timedelta(days=1)  # end of the local day
        assert o.at_risk_at == local(day.year, day.month, day.day)
        assert o.resolve_due_at == o.onsite_due_at + timedelta(days=1)  # the grace before "missed"
        lead = KINDS[o.kind].lead_days
        start = day - timedelta(days=lead)
        assert local(start.year, start.month, start.day) <= o.opened_at < \
            local(start.year, start.month, start.day) + timedelta(hours=12)  # generated lead_days ahead
        assert o.open_key == f"care|1|{o.kind}|{day.isoformat()}"
    with open_session(engine) as s:
        [actor] = {e.actor for e in s.exec(select(TimelineEntry)).all() if e.action == "opened"}
        assert actor == "shewu:care-plan"
        steps = s.exec(select(EscalationStep)).all()
        assert len(steps) == len(orders) and {st.step for st in steps} == {"care_overdue"}
        weekly = s.exec(select(CareItem).where(CareItem.kind == "weekly_visit")).one()
        assert (weekly.last_due, weekly.next_due) == (date(2026, 12, 28), date(2027, 1, 4))


def test_a_backlog_across_leap_years_is_generated_once(engine: Engine) -> None:
    """The gateway was down for two years: one pass generates every occurrence, late; 31st of
    the month and 29 February clamp to the month's length."""
    seed(engine)
    make_plan(engine, local(2027, 1, 1), items=[
        ItemSettings("weekly_visit", enabled=False),
        ItemSettings("monthly_activity", day=31),
        ItemSettings("quarterly_clinic", month=3, day=31),
        ItemSettings("yearly_survey", month=2, day=29),
    ])
    generated = generate(engine, local(2029, 1, 1, 8), limit=1000)
    dates = due_dates(engine)
    by_kind: dict[str, list[date]] = {}
    for o in generated:
        by_kind.setdefault(o.kind, []).append(dates[o.id])
    assert "weekly_visit" not in by_kind
    monthly = sorted(by_kind["monthly_activity"])
    assert len(monthly) == 24 and date(2027, 2, 28) in monthly and date(2028, 2, 29) in monthly
    assert date(2027, 4, 30) in monthly and date(2028, 12, 31) in monthly
    assert sorted(by_kind["quarterly_clinic"]) == [date(y, m, d) for y in (2027, 2028)
                                                   for m, d in ((3, 31), (6, 30), (9, 30), (12, 31))]
    assert sorted(by_kind["yearly_survey"]) == [date(2027, 2, 28), date(2028, 2, 29)]
    with open_session(engine) as s:
        late = [e for e in s.exec(select(TimelineEntry)).all() if e.action == "opened"]
        assert all((e.data or {}).get("late") for e in late)  # each says it was generated late
    assert generate(engine, local(2029, 1, 1, 9)) == []


def test_a_small_limit_takes_a_backlog_in_several_passes(engine: Engine) -> None:
    seed(engine)
    make_plan(engine, local(2026, 1, 1))
    now = local(2026, 3, 1)
    with open_session(engine) as s:
        out = generate_due(s, now=now, tz=SH, limit=5)
        s.commit()
    assert (len(out.orders), out.taken) == (5, 5)  # a full batch: the caller runs again
    passes = [5] + [len(generate(engine, now, limit=5)) for _ in range(5)]
    assert passes[:2] == [5, 5] and passes[-1] == 0
    assert len(care_orders(engine)) == sum(passes)
    assert len({o.open_key for o in care_orders(engine)}) == sum(passes)


def test_run_twice_or_after_an_edit_nothing_is_doubled(engine: Engine) -> None:
    seed(engine)
    make_plan(engine, T0)
    first = generate(engine, T0)
    assert [o.kind for o in first] == ["weekly_visit"]  # Monday 2 March is due today
    assert generate(engine, T0) == []
    assert generate(engine, T0 + timedelta(hours=6)) == []
    make_plan(engine, T0 + timedelta(hours=7))  # saved again: the timer starts after the last date generated
    assert generate(engine, T0 + timedelta(hours=8)) == []
    # even a timer put back by hand never generates the same date twice (care_visits is unique)
    with engine.begin() as conn:
        conn.execute(sa.update(CareItem.__table__).where(CareItem.__table__.c.kind == "weekly_visit")
                     .values(next_due=date(2026, 3, 2), generate_at=T0 - timedelta(days=2)))
    with open_session(engine) as s:
        out = generate_due(s, now=T0 + timedelta(hours=9), tz=SH)
        s.commit()
    assert (out.orders, out.skipped) == ([], 1)
    assert len(care_orders(engine)) == 1
    assert len(generate(engine, local(2026, 3, 7))) == 1  # the next Monday's, two days ahead


@pytest.mark.parametrize("instances", [2, 4])
def test_concurrent_instances_generate_each_occurrence_once(db_url: str, engine: Engine, instances: int) -> None:
    homes = tuple(f"1-1-{i:03d}" for i in range(25))
    seed(engine, homes=homes)
    for home_id in homes:
        make_plan(engine, NEW_YEAR_2026, home_id=home_id)
    now = local(2026, 4, 1)
    engines = [make_engine(db_url) for _ in range(instances)]
    barrier = Barrier(instances)
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def run(eng: Engine) -> None:
        try:
            barrier.wait()
            mine: list[int] = []
            while batch := generate(eng, now, limit=20):
                mine += [o.id for o in batch]
            results.append(mine)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in engines:
        e.dispose()
    assert errors == []
    everything = [x for r in results for x in r]
    # Mondays to 3 April (two days' lead); 15 January to 15 March; 20 January; 1 March
    per_home = len(occurrences(KINDS["weekly_visit"].rule, date(2026, 1, 1), date(2026, 4, 3))) + 3 + 1 + 1
    orders = care_orders(engine)
    assert len(everything) == len(set(everything)) == len(orders) == 25 * per_home
    assert len({(o.home_id, o.open_key) for o in orders}) == len(orders)


# --- through the API ----------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(db_url: str, clock: FakeClock, tmp_path: object) -> Iterator[TestClient]:
    settings = Settings(db_url=db_url, ingest=False, scheduler_interval=0, photo_dir=f"{tmp_path}/photos")
    app = create_app(settings, clock=clock)
    if not any(getattr(r, "path", "").startswith("/api/care") for r in app.routes):
        # Until gateway/app.py includes the care router: add it, ahead of the dashboard's mount.
        from gateway.api.routes import care

        app.include_router(care.router)
        mount = next(r for r in app.router.routes if isinstance(r, Mount))
        app.router.routes.remove(mount)
        app.router.routes.append(mount)
    with TestClient(app) as c:
        engine = c.app.state.runtime.engine  # type: ignore[attr-defined]
        with open_session(engine) as s:
            s.add(Home(home_id="3-2-101", address="3栋2单元101", grid="G1", resident="王秀英", phone="13800000000"))
            s.add(Home(home_id="5-1-201", address="5栋1单元201", grid="G2", resident="赵大爷"))
            s.commit()
        c.who = {  # type: ignore[attr-defined]
            "duty": bearer(user_token(engine, "duty", "dispatcher")),
            "admin": bearer(user_token(engine, "admin", "admin")),
            "sun": bearer(user_token(engine, "sun", "grid_worker", grid="G1")),
            "li": bearer(user_token(engine, "li", "technician", skills=["elderly_care"], team="care")),  # care staff
            "zhou": bearer(user_token(engine, "zhou", "grid_worker", grid="G2")),
            "wang": bearer(user_token(engine, "wang", "technician", skills=["plumbing"])),
            "granny": bearer(user_token(engine, "granny", "resident")),
        }
        yield c


def h(client: TestClient, who: str) -> dict[str, str]:
    return client.who[who]  # type: ignore[attr-defined,no-any-return]


def engine_of(client: TestClient) -> Engine:
    return client.app.state.runtime.engine  # type: ignore[attr-defined,no-any-return]


def put_plan(client: TestClient, home_id: str = "3-2-101", who: str = "duty", **body: Any) -> dict[str, Any]:
    r = client.put(f"/api/care/plans/{home_id}", json=body, headers=h(client, who))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def run_generation(client: TestClient, clock: FakeClock) -> list[Any]:
    return generate(engine_of(client), clock.now)


def plan(client: TestClient, who: str = "sun", home_id: str = "3-2-101") -> dict[str, Any]:
    r = client.get(f"/api/care/plans/{home_id}", headers=h(client, who))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def act(client: TestClient, oid: int, action: str, who: str = "sun", **body: Any) -> Any:
    return client.post(f"/api/orders/{oid}/{action}", json=body, headers=h(client, who))


def test_done_with_a_note_and_missed_with_a_reason(client: TestClient, clock: FakeClock) -> None:
    created = put_plan(client)
    assert [i["kind"] for i in created["items"]] == list(KINDS)
    assert created["resident"] == "王秀英" and created["grid"] == "G1"
    assert [(d["kind"], d["due_date"], d["status"]) for d in created["due_next"]] == [
        ("weekly_visit", "2026-03-02", "scheduled"), ("monthly_activity", "2026-03-15", "scheduled"),
        ("quarterly_clinic", "2026-04-20", "scheduled"), ("yearly_survey", "2027-03-01", "scheduled")]

    [visit] = run_generation(client, clock)
    assert (visit.kind, visit.status, visit.assignee, visit.home_id) == ("weekly_visit", "dispatched", "sun", "3-2-101")
    detail = plan(client)
    assert [(v["order_id"], v["outcome"], v["due_date"]) for v in detail["history"]] == \
        [(visit.id, "open", "2026-03-02")]
    assert detail["due_next"][0]["order_id"] == visit.id  # the open visit first, then the next dates
    assert detail["due_next"][1]["due_date"] == "2026-03-09"

    clock.now += timedelta(hours=10)
    assert act(client, visit.id, "miss", "wang", reason="x").status_code == 403  # not theirs
    assert act(client, visit.id, "arrive").status_code == 200
    r = act(client, visit.id, "resolve", note="陪聊天、量血压 135/85，一切正常")
    assert r.status_code == 200 and r.json()["status"] == "resolved"

    clock.now = local(2026, 3, 7, 0, 30)  # Saturday: next Monday's visit is generated
    [second] = run_generation(client, clock)
    clock.now = local(2026, 3, 9, 9)
    r = act(client, second.id, "miss")
    assert r.status_code == 409 and "reason" in r.json()["detail"]
    r = act(client, second.id, "miss", reason="老人住院，未能探访")
    assert r.status_code == 200 and r.json()["status"] == "missed"
    assert act(client, second.id, "resolve", note="late").status_code == 409  # missed is final

    history = plan(client)["history"]
    assert [(v["order_id"], v["due_date"], v["outcome"], v["status"]) for v in history] == [
        (second.id, "2026-03-09", "missed", "missed"), (visit.id, "2026-03-02", "done", "resolved")]
    assert (history[0]["reason"], history[0]["recorded_by"]) == ("老人住院，未能探访", "sun")
    assert (history[1]["note"], history[1]["recorded_by"]) == ("陪聊天、量血压 135/85，一切正常", "sun")
    assert history[1]["resolved_at"] is not None and history[1]["arrived_at"] is not None
    detail = client.get(f"/api/orders/{second.id}", headers=h(client, "duty")).json()
    assert [(e["action"], e["actor"]) for e in detail["timeline"]] == [
        ("opened", "shewu:care-plan"), ("dispatch", "shewu:care-plan"), ("miss", "sun")]


def test_an_overdue_visit_is_escalated_once_and_a_done_one_is_not(client: TestClient, clock: FakeClock) -> None:
    put_plan(client)
    [visit] = run_generation(client, clock)
    scheduler = client.app.state.runtime.scheduler  # type: ignore[attr-defined]
    due_at = local(2026, 3, 3)  # the end of Monday 2 March
    clock.now = due_at + timedelta(hours=23, minutes=59)
    assert [f.step for f in scheduler.run_once()[0]] == []  # within the grace
    clock.now = due_at + timedelta(days=1, seconds=1)
    fired, _ = scheduler.run_once()
    assert [(f.order_id, f.step, f.audience, f.breach) for f in fired] == \
        [(visit.id, "care_overdue", ("duty_leader", "dispatcher"), True)]
    assert scheduler.run_once()[0] == []  # once
    [row] = plan(client)["history"]
    assert (row["outcome"], row["escalated"], row["overdue"]) == ("open", True, True)
    order = client.get(f"/api/orders/{visit.id}", headers=h(client, "duty")).json()
    assert order["ladder"]["current"]["step"] == "care_overdue"
    assert ("escalation", "shewu:escalation") in [(e["action"], e["actor"]) for e in order["timeline"]]
    # recording it missed afterwards is still possible, and ends it
    assert act(client, visit.id, "miss", "duty", reason="网格员病假").status_code == 200

    # next week's visit is done in time: its step falls due and is void
    clock.now = local(2026, 3, 7, 1)
    [done] = run_generation(client, clock)
    clock.now = local(2026, 3, 9, 15)
    assert act(client, done.id, "arrive").status_code == 200
    assert act(client, done.id, "resolve", note="一切正常").status_code == 200
    clock.now = local(2026, 3, 11, 1)
    assert [f.step for f in scheduler.run_once()[0]] == []
    with open_session(engine_of(client)) as s:
        [step] = s.exec(select(EscalationStep).where(EscalationStep.order_id == done.id)).all()
        assert step.status == "void"


def test_editing_a_plan_per_resident(client: TestClient, clock: FakeClock) -> None:
    body = {"resident": "王秀英（独居）", "resident_id": 7, "items": [
        {"kind": "weekly_visit", "weekday": 2, "due_time": "10:00", "assignee": "li", "lead_days": 1},
        {"kind": "monthly_activity", "day": 31},
        {"kind": "yearly_survey", "enabled": False},
    ]}
    out = put_plan(client, **body)
    items = {i["kind"]: i for i in out["items"]}
    assert (out["resident"], out["resident_id"]) == ("王秀英（独居）", 7)
    assert (items["weekly_visit"]["rule_zh"], items["weekly_visit"]["rule_en"]) == \
        ("每周三 10:00前", "every Wednesday, by 10:00")
    assert items["weekly_visit"]["next"] == {"due_date": "2026-03-04", "due_at": "2026-03-04T02:00:00.000Z",
                                             "generate_at": "2026-03-02T16:00:00.000Z",
                                             "missed_at": "2026-03-05T02:00:00.000Z"}
    assert items["monthly_activity"]["next"]["due_date"] == "2026-03-31"
    assert items["quarterly_clinic"]["day"] == 20 and items["quarterly_clinic"]["enabled"]  # left out: defaults
    assert items["yearly_survey"]["next"] is None
    assert [d["kind"] for d in out["due_next"]] == ["weekly_visit", "monthly_activity", "quarterly_clinic"]

    clock.now = local(2026, 3, 3, 8)
    [visit] = run_generation(client, clock)
    assert (visit.kind, visit.assignee, visit.resident) == ("weekly_visit", "li", "王秀英（独居）")
    assert visit.onsite_due_at == local(2026, 3, 4, 10)

    # a month later the monthly activity on the 31st falls on 30 April
    clock.now = local(2026, 4, 1)
    put_plan(client, **body)  # saved again: nothing generated twice
    assert plan(client, "duty")["items"][1]["next"]["due_date"] == "2026-04-30"

    off = put_plan(client, enabled=False)
    assert off["due_next"] == [] and all(i["next"] is None for i in off["items"])
    clock.now = local(2026, 6, 1)
    assert run_generation(client, clock) == []


def test_who_may_read_and_write(client: TestClient) -> None:
    put_plan(client)
    put_plan(client, "5-1-201", who="admin")
    assert client.put("/api/care/plans/3-2-101", json={}, headers=h(client, "sun")).status_code == 403
    assert client.get("/api/care/plans/3-2-101", headers=h(client, "wang")).status_code == 403
    assert client.get("/api/care/plans/3-2-101", headers=h(client, "granny")).status_code == 403
    assert client.get("/api/care/plans/5-1-201", headers=h(client, "sun")).status_code == 403  # another grid
    assert client.get("/api/care/plans/5-1-201", headers=h(client, "zhou")).status_code == 200
    assert [p["home_id"] for p in client.get("/api/care/plans", headers=h(client, "sun")).json()] == ["3-2-101"]
    assert client.get("/api/care/plans?grid=G2", headers=h(client, "sun")).status_code == 403
    assert [p["home_id"] for p in client.get("/api/care/plans", headers=h(client, "duty")).json()] == \
        ["3-2-101", "5-1-201"]
    assert [p["home_id"] for p in client.get("/api/care/plans?grid=G2", headers=h(client, "duty")).json()] == \
        ["5-1-201"]
    assert [p["home_id"] for p in client.get("/api/care/plans?home_id=3-2-101", headers=h(client, "duty")).json()] \
        == ["3-2-101"]
    assert len(client.get("/api/care/kinds", headers=h(client, "sun")).json()) == 4
    assert client.get("/api/care/plans", headers={}).status_code == 401


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"items": [{"kind": "nap"}]}, 422, "unknown care item"),
    ({"items": [{"kind": "weekly_visit"}, {"kind": "weekly_visit"}]}, 422, "twice"),
    ({"items": [{"kind": "weekly_visit", "weekday": 7}]}, 422, "weekday"),
    ({"items": [{"kind": "monthly_activity", "day": 32}]}, 422, "day"),
    ({"items": [{"kind": "quarterly_clinic", "month": 4}]}, 422, "month"),
    ({"items": [{"kind": "weekly_visit", "due_time": "25:00"}]}, 422, "due_time"),
    ({"items": [{"kind": "weekly_visit", "lead_days": 400}]}, 422, "lead_days"),
    ({"items": [{"kind": "weekly_visit", "assignee": "nobody"}]}, 422, "no active user"),
    ({"items": [{"kind": "weekly_visit", "assignee": "granny"}]}, 422, "resident cannot"),
    ({"items": [{"kind": "weekly_visit", "assignee": "zhou"}]}, 422, "grid worker of grid G2"),
])
def test_bad_plans_get_a_reason(client: TestClient, body: dict[str, Any], status: int, words: str) -> None:
    r = client.put("/api/care/plans/3-2-101", json=body, headers=h(client, "duty"))
    assert r.status_code == status and words in r.json()["detail"], r.text
    assert client.get("/api/care/plans/3-2-101", headers=h(client, "duty")).status_code == 404  # nothing saved


def test_unknown_homes_and_plans(client: TestClient) -> None:
    assert client.put("/api/care/plans/9-9-999", json={}, headers=h(client, "duty")).status_code == 404
    r = client.get("/api/care/plans/3-2-101", headers=h(client, "duty"))
    assert r.status_code == 404 and "no care plan" in r.json()["detail"]


def test_the_gateways_scheduler_generates_the_visits(client: TestClient, clock: FakeClock) -> None:
    """The scheduler's minute pass (``supervise``) generates care orders, not only the service."""
    put_plan(client)
    scheduler = client.app.state.runtime.scheduler  # type: ignore[attr-defined]
    clock.now = T0 + timedelta(days=1)
    scheduler._inactivity_at = None  # the minute pass is due
    scheduler.supervise()
    kinds = {o.kind for o in care_orders(engine_of(client))}
    assert "weekly_visit" in kinds
