"""The on-call rota through the HTTP API, over a real database, with an injected clock: who may
read and write it, the weekly plan and overrides, CSV import and export, and ``/api/oncall``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

import gateway.storage.rota_models  # noqa: F401  (registers the rota tables before create_schema)
from gateway.app import create_app
from gateway.config import Settings
from gateway.storage import accounts
from gateway.storage.db import session
from tests.accounts import bearer, user_token
from tests.fakes import FakeClock

SH = ZoneInfo("Asia/Shanghai")


def sh(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    """A Shanghai wall-clock moment, as UTC."""
    return datetime(y, mo, d, h, mi, tzinfo=SH).astimezone(UTC)


def z(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


T0 = sh(2026, 3, 2, 9)  # a Monday, 09:00 in Shanghai


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


def make_client(db_url: str, clock: FakeClock, **settings: Any) -> TestClient:
    return TestClient(create_app(Settings(db_url=db_url, ingest=False, scheduler_interval=0, **settings),
                                 clock=clock))


@pytest.fixture
def client(db_url: str, clock: FakeClock) -> Iterator[TestClient]:
    """Signed in as an admin. Staff: dispatchers ``xiaoliu`` and ``xiaowang``, admin ``zhuren``
    (a duty leader), technician ``li``, resident ``wang``; ``tokens`` has each one's headers."""
    with make_client(db_url, clock) as c:
        engine = c.app.state.runtime.engine  # type: ignore[attr-defined]
        c.headers.update(bearer(user_token(engine, "admin", "admin")))
        c.tokens = {  # type: ignore[attr-defined]
            "xiaoliu": bearer(user_token(engine, "xiaoliu", "dispatcher", display_name="值班员小刘",
                                         phone="13800000001")),
            "xiaowang": bearer(user_token(engine, "xiaowang", "dispatcher", display_name="小王")),
            "zhuren": bearer(user_token(engine, "zhuren", "admin", display_name="张主任", phone="13900000009")),
            "li": bearer(user_token(engine, "li", "technician", display_name="李师傅")),
            "wang": bearer(user_token(engine, "wang", "resident")),
        }
        yield c


def as_(client: TestClient, name: str) -> dict[str, str]:
    return client.tokens[name]  # type: ignore[attr-defined,no-any-return]


def deactivate(client: TestClient, name: str) -> None:
    with session(client.app.state.runtime.engine) as s:  # type: ignore[attr-defined]
        user = accounts.get_user(s, name=name)
        assert user is not None
        user.active = False
        accounts.save_user(s, user=user)
        s.commit()


WEEKLY = {"shifts": [
    {"weekday": 0, "start": "08:00", "end": "20:00", "user": "xiaoliu", "duty": "dispatcher"},
    {"weekday": 0, "start": "08:00", "end": "20:00", "user": "xiaowang", "duty": "dispatcher"},
    {"weekday": 0, "start": "8:30", "end": "17:30", "user": "zhuren", "duty": "leader"},
    {"weekday": 0, "start": "20:00", "end": "08:00", "user": "xiaowang", "duty": "dispatcher"},
    {"weekday": 6, "start": "20:00", "end": "24:00", "user": "xiaoliu", "duty": "dispatcher"},
    {"weekday": 6, "start": "00:00", "end": "00:00", "user": "zhuren", "duty": "leader"},
]}


def oncall(client: TestClient, **kw: Any) -> dict[str, Any]:
    r = client.get("/api/oncall", **kw)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def who(body: dict[str, Any]) -> tuple[list[str], list[str]]:
    return [a["user"] for a in body["dispatchers"]], [a["user"] for a in body["leaders"]]


def import_csv(client: TestClient, text: str, **kw: Any) -> Any:
    return client.post("/api/rota/import", content=text.encode(), headers={"content-type": "text/csv", **kw})


# --- who may ---------------------------------------------------------------------------------


def test_who_may_read_and_write_the_rota(client: TestClient) -> None:
    anonymous = {"Authorization": ""}
    assert client.get("/api/oncall", headers=anonymous).status_code == 401
    assert client.get("/api/rota", headers=anonymous).status_code == 401
    assert client.put("/api/rota/weekly", json=WEEKLY, headers=anonymous).status_code == 401
    for name in ("xiaoliu", "li", "zhuren"):
        assert client.get("/api/oncall", headers=as_(client, name)).status_code == 200
        assert client.get("/api/rota", headers=as_(client, name)).status_code == 200
        assert client.get("/api/rota/export", headers=as_(client, name)).status_code == 200
    for path in ("/api/oncall", "/api/rota", "/api/rota/export", "/api/rota/overrides/2026-03-02"):
        assert client.get(path, headers=as_(client, "wang")).status_code == 403
    for name in ("xiaoliu", "li", "wang"):
        headers = as_(client, name)
        assert client.put("/api/rota/weekly", json=WEEKLY, headers=headers).status_code == 403
        assert client.put("/api/rota/overrides/2026-03-02", json={"shifts": []}, headers=headers).status_code == 403
        assert client.delete("/api/rota/overrides/2026-03-02", headers=headers).status_code == 403
        r = client.post("/api/rota/import", content=b"kind,day,start,end,user,duty\n",
                        headers={"content-type": "text/csv", **headers})
        assert r.status_code == 403
    assert client.put("/api/rota/weekly", json=WEEKLY, headers=as_(client, "zhuren")).status_code == 200  # an admin


# --- the weekly plan and /api/oncall ---------------------------------------------------------


def test_weekly_plan_and_who_is_on_duty_through_the_day(client: TestClient, clock: FakeClock) -> None:
    assert oncall(client) == {"now": z(T0), "time_zone": "Asia/Shanghai", "dispatchers": [], "leaders": [],
                              "leader_missing": True}
    r = client.put("/api/rota/weekly", json=WEEKLY)
    assert r.status_code == 200, r.text
    rota = r.json()
    assert rota["time_zone"] == "Asia/Shanghai" and rota["from"] == "2026-03-02"
    assert rota["weekly"][0] == {"weekday": 0, "day": "mon", "start": "08:00", "end": "20:00", "user": "xiaoliu",
                                 "display_name": "值班员小刘", "duty": "dispatcher"}
    assert [(s["day"], s["start"], s["user"]) for s in rota["weekly"]][2] == ("mon", "08:30", "zhuren")
    assert client.get("/api/rota", headers=as_(client, "li")).json() == rota

    body = oncall(client, headers=as_(client, "xiaoliu"))  # Monday 09:00
    assert who(body) == (["xiaoliu", "xiaowang"], ["zhuren"])
    assert body["leader_missing"] is False
    assert body["dispatchers"][0] == {"user": "xiaoliu", "display_name": "值班员小刘", "phone": "13800000001",
                                      "start": z(sh(2026, 3, 2, 8)), "end": z(sh(2026, 3, 2, 20)),
                                      "source": "weekly"}
    assert body["leaders"][0]["phone"] == "13900000009"
    assert body["leaders"][0]["start"] == "2026-03-02T00:30:00.000Z"

    clock.now = sh(2026, 3, 2, 18)  # the leader has gone home
    body = oncall(client)
    assert who(body) == (["xiaoliu", "xiaowang"], []) and body["leader_missing"] is True

    clock.now = sh(2026, 3, 3, 7, 59)  # Tuesday morning: Monday's night shift
    body = oncall(client)
    assert who(body) == (["xiaowang"], [])
    assert body["dispatchers"][0]["end"] == z(sh(2026, 3, 3, 8))

    clock.now = sh(2026, 3, 3, 8)  # nobody on Tuesday
    assert who(oncall(client)) == ([], [])

    clock.now = sh(2026, 3, 8, 23, 59)  # Sunday night: 20:00-24:00 and the 24-hour leader
    body = oncall(client)
    assert who(body) == (["xiaoliu"], ["zhuren"])
    assert body["leaders"][0]["end"] == z(sh(2026, 3, 9, 0))
    clock.now = sh(2026, 3, 9, 0)  # Monday 00:00: Sunday is over, Monday's shifts start at 08:00
    assert who(oncall(client)) == ([], [])


def test_weekly_plan_refuses_people_who_cannot_be_on_the_rota(client: TestClient) -> None:
    assert client.put("/api/rota/weekly", json=WEEKLY).status_code == 200
    deactivate(client, "xiaowang")
    bad = {"shifts": [
        {"weekday": 1, "start": "08:00", "end": "20:00", "user": "xiaoliu", "duty": "dispatcher"},
        {"weekday": 1, "start": "08:00", "end": "20:00", "user": "nobody", "duty": "dispatcher"},
        {"weekday": 1, "start": "08:00", "end": "20:00", "user": "li", "duty": "dispatcher"},
        {"weekday": 1, "start": "08:00", "end": "20:00", "user": "xiaowang", "duty": "leader"},
        {"weekday": 1, "start": "08:00", "end": "20:00", "user": "xiaoliu", "duty": "dispatcher"},
    ]}
    r = client.put("/api/rota/weekly", json=bad)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert [e["loc"] for e in detail] == [["shifts", 1, "user"], ["shifts", 2, "user"], ["shifts", 3, "user"],
                                          ["shifts", 4]]
    assert "unknown user 'nobody'" in detail[0]["msg"]
    assert "technician" in detail[1]["msg"] and "not active" in detail[2]["msg"]
    assert "same shift as row 0" in detail[3]["msg"]
    assert len(client.get("/api/rota").json()["weekly"]) == len(WEEKLY["shifts"])  # unchanged


@pytest.mark.parametrize("shift", [
    {"weekday": 7, "start": "08:00", "end": "20:00", "user": "xiaoliu", "duty": "dispatcher"},
    {"weekday": 0, "start": "25:00", "end": "20:00", "user": "xiaoliu", "duty": "dispatcher"},
    {"weekday": 0, "start": "24:00", "end": "08:00", "user": "xiaoliu", "duty": "dispatcher"},
    {"weekday": 0, "start": "08:00", "end": "8pm", "user": "xiaoliu", "duty": "dispatcher"},
    {"weekday": 0, "start": "08:00", "end": "20:00", "user": "xiaoliu", "duty": "boss"},
    {"weekday": 0, "start": "08:00", "end": "20:00", "duty": "dispatcher"},
])
def test_weekly_plan_refuses_bad_rows(client: TestClient, shift: dict[str, Any]) -> None:
    r = client.put("/api/rota/weekly", json={"shifts": [shift]})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][:3] == ["body", "shifts", 0]


def test_a_deactivated_user_is_not_on_call(client: TestClient) -> None:
    client.put("/api/rota/weekly", json=WEEKLY)
    deactivate(client, "zhuren")
    body = oncall(client)
    assert who(body) == (["xiaoliu", "xiaowang"], []) and body["leader_missing"] is True


# --- overrides -------------------------------------------------------------------------------


def test_an_override_replaces_one_date_and_an_empty_list_restores_it(client: TestClient, clock: FakeClock) -> None:
    client.put("/api/rota/weekly", json=WEEKLY)
    day = {"shifts": [{"start": "09:00", "end": "21:00", "user": "xiaowang", "duty": "dispatcher"},
                      {"start": "09:00", "end": "21:00", "user": "xiaoliu", "duty": "leader"}]}
    r = client.put("/api/rota/overrides/2026-03-02", json=day)
    assert r.status_code == 200, r.text
    assert r.json() == {"date": "2026-03-02", "follows_weekly_plan": False, "shifts": [
        {"date": "2026-03-02", "start": "09:00", "end": "21:00", "user": "xiaowang", "display_name": "小王",
         "duty": "dispatcher"},
        {"date": "2026-03-02", "start": "09:00", "end": "21:00", "user": "xiaoliu", "display_name": "值班员小刘",
         "duty": "leader"},
    ]}
    assert client.get("/api/rota/overrides/2026-03-02", headers=as_(client, "li")).json() == r.json()
    assert who(oncall(client)) == (["xiaowang"], ["xiaoliu"])
    assert oncall(client)["dispatchers"][0]["source"] == "override"
    assert len(client.get("/api/rota").json()["overrides"]) == 2
    assert client.get("/api/rota", params={"from": "2026-03-03"}).json()["overrides"] == []

    clock.now = sh(2026, 3, 3, 7)  # Monday's weekly night shift was replaced too
    assert who(oncall(client)) == ([], [])
    assert client.get("/api/rota").json()["overrides"] == []  # "from" defaults to today

    clock.now = T0
    r = client.put("/api/rota/overrides/2026-03-02", json={"shifts": []})
    assert r.status_code == 200 and r.json()["follows_weekly_plan"] is True
    assert who(oncall(client)) == (["xiaoliu", "xiaowang"], ["zhuren"])


def test_a_nobody_override_cancels_a_day_and_delete_restores_it(client: TestClient) -> None:
    client.put("/api/rota/weekly", json=WEEKLY)
    r = client.put("/api/rota/overrides/2026-03-02", json={"shifts": [{"user": None}]})
    assert r.status_code == 200, r.text
    assert r.json()["shifts"] == [{"date": "2026-03-02", "start": None, "end": None, "user": None,
                                   "display_name": "", "duty": None}]
    assert who(oncall(client)) == ([], [])
    r = client.delete("/api/rota/overrides/2026-03-02")
    assert r.status_code == 200 and r.json() == {"date": "2026-03-02", "follows_weekly_plan": True, "shifts": []}
    assert who(oncall(client)) == (["xiaoliu", "xiaowang"], ["zhuren"])


def test_override_rows_are_checked(client: TestClient) -> None:
    r = client.put("/api/rota/overrides/2026-03-02", json={"shifts": [{"user": "xiaoliu", "start": "09:00"}]})
    assert r.status_code == 422 and "needs end, duty" in r.text
    r = client.put("/api/rota/overrides/2026-03-02",
                   json={"shifts": [{"user": "wang", "start": "09:00", "end": "10:00", "duty": "leader"}]})
    assert r.status_code == 422
    assert r.json()["detail"] == [{"loc": ["shifts", 0, "user"],
                                   "msg": "user 'wang' is a resident; the rota takes dispatchers and admins"}]
    assert client.put("/api/rota/overrides/2026-02-30", json={"shifts": []}).status_code == 422
    assert client.get("/api/rota/overrides/2026-03-02").json()["follows_weekly_plan"] is True


# --- CSV -------------------------------------------------------------------------------------

GOOD_CSV = """kind,day,start,end,user,duty
weekly,mon,08:00,20:00,xiaoliu,dispatcher
weekly,周一,20:00,08:00,xiaowang,dispatcher
weekly,1,8:30,17:30,zhuren,leader
# a comment line,,,,,
weekly,7,20:00,24:00,xiaoliu,dispatcher

override,2026-03-03,09:00,21:00,xiaoliu,dispatcher
override,2026-03-03,09:00,21:00,zhuren,值班领导
override,2026-03-04,,,,
"""


def test_csv_import_and_export_round_trip(client: TestClient, clock: FakeClock) -> None:
    client.put("/api/rota/weekly", json=WEEKLY)
    client.put("/api/rota/overrides/2026-03-03", json={"shifts": [{"user": None}]})
    r = import_csv(client, GOOD_CSV)
    assert r.status_code == 200, r.text
    assert r.json() == {"weekly": 4, "overrides": 3, "dates": ["2026-03-03", "2026-03-04"]}
    rota = client.get("/api/rota").json()
    assert [(s["day"], s["start"], s["end"], s["user"], s["duty"]) for s in rota["weekly"]] == [
        ("mon", "08:00", "20:00", "xiaoliu", "dispatcher"),
        ("mon", "08:30", "17:30", "zhuren", "leader"),
        ("mon", "20:00", "08:00", "xiaowang", "dispatcher"),
        ("sun", "20:00", "24:00", "xiaoliu", "dispatcher"),
    ]
    assert [(o["date"], o["user"]) for o in rota["overrides"]] == [
        ("2026-03-03", "xiaoliu"), ("2026-03-03", "zhuren"), ("2026-03-04", None)]

    assert who(oncall(client)) == (["xiaoliu"], ["zhuren"])
    clock.now = sh(2026, 3, 3, 10)
    body = oncall(client)
    assert who(body) == (["xiaoliu"], ["zhuren"]) and body["leaders"][0]["source"] == "override"

    r = client.get("/api/rota/export", params={"from": "2026-03-01"}, headers=as_(client, "xiaoliu"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert 'filename="rota-20260303.csv"' in r.headers["content-disposition"]
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeffkind,day,start,end,user,duty\r\n")
    assert text.splitlines()[1:] == [
        "weekly,mon,08:00,20:00,xiaoliu,dispatcher",
        "weekly,mon,08:30,17:30,zhuren,leader",
        "weekly,mon,20:00,08:00,xiaowang,dispatcher",
        "weekly,sun,20:00,24:00,xiaoliu,dispatcher",
        "override,2026-03-03,09:00,21:00,xiaoliu,dispatcher",
        "override,2026-03-03,09:00,21:00,zhuren,leader",
        "override,2026-03-04,,,,",
    ]
    assert client.get("/api/rota/export").content.decode().count("override,") == 3  # from today (03-03)
    clock.now = sh(2026, 3, 4, 10)
    assert client.get("/api/rota/export").content.decode().count("override,") == 1
    assert client.get("/api/rota/export", params={"all": "true"}).content.decode().count("override,") == 3

    # The export, with its BOM, imports back as a multipart upload and changes nothing.
    before = client.get("/api/rota", params={"from": "2026-03-01"}).json()
    r = client.post("/api/rota/import", files={"file": ("rota.csv", r.content, "text/csv")})
    assert r.status_code == 200, r.text
    assert client.get("/api/rota", params={"from": "2026-03-01"}).json() == before


def test_csv_import_without_weekly_rows_keeps_the_weekly_plan(client: TestClient) -> None:
    client.put("/api/rota/weekly", json=WEEKLY)
    r = import_csv(client, "kind,day,start,end,user,duty\noverride,2026-03-05,08:00,20:00,xiaoliu,dispatcher\n")
    assert r.status_code == 200 and r.json() == {"weekly": None, "overrides": 1, "dates": ["2026-03-05"]}
    assert len(client.get("/api/rota").json()["weekly"]) == len(WEEKLY["shifts"])


def test_csv_import_with_bad_lines_writes_nothing(client: TestClient) -> None:
    client.put("/api/rota/weekly", json=WEEKLY)
    before = client.get("/api/rota").json()
    bad = """kind,day,start,end,user,duty
weekly,mon,08:00,20:00,xiaoliu,dispatcher
weekly,funday,08:00,20:00,xiaoliu,dispatcher
weekly,tue,25:00,08:00,xiaoliu,dispatcher
weekly,wed,08:00,20:00,ghost,dispatcher
weekly,thu,08:00,20:00,li,leader
override,2026-02-30,08:00,20:00,xiaoliu,dispatcher
monthly,2026-03-05,08:00,20:00,xiaoliu,dispatcher
weekly,fri,08:00,20:00,xiaoliu,
weekly,mon,08:00,20:00,xiaoliu,dispatcher
weekly,sat,08:00,20:00,xiaoliu,dispatcher,extra
"""
    r = import_csv(client, bad)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert [e["line"] for e in detail] == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    msgs = {e["line"]: e["msg"] for e in detail}
    assert "weekday 'funday'" in msgs[3]
    assert "time '25:00'" in msgs[4]
    assert msgs[5] == "unknown user 'ghost'"
    assert "technician" in msgs[6]
    assert "date '2026-02-30'" in msgs[7]
    assert "kind 'monthly'" in msgs[8]
    assert "duty is empty" in msgs[9]
    assert msgs[10] == "the same shift as line 2"
    assert "more cells than the header" in msgs[11]
    assert detail[0]["loc"] == ["line 3"]
    assert client.get("/api/rota").json() == before


@pytest.mark.parametrize(("body", "needle"), [
    (b"day,start,end,user\nmon,08:00,20:00,xiaoliu\n", "missing: kind, duty"),
    (b"kind,day,start,end,user,duty\n", "no rows"),
    (b"", "no header"),
    ("kind,day\n周一".encode("gbk"), "UTF-8"),
])
def test_csv_import_refuses_bad_files(client: TestClient, body: bytes, needle: str) -> None:
    r = client.post("/api/rota/import", content=body, headers={"content-type": "text/csv"})
    assert r.status_code == 422 and needle in r.text, r.text
    bad_form = client.post("/api/rota/import", files={"other": ("rota.csv", GOOD_CSV, "text/csv")})
    assert bad_form.status_code == 422 and "'file'" in bad_form.text


# --- the community's time zone -------------------------------------------------------------------


def test_oncall_follows_the_configured_time_zone(db_url: str) -> None:
    # Europe/Berlin, the night the clocks go forward: 20:00 CET to 08:00 CEST is 11 hours.
    clock = FakeClock(datetime(2026, 3, 29, 5, 59, tzinfo=UTC))
    with make_client(db_url, clock, time_zone="Europe/Berlin") as c:
        c.headers.update(bearer(user_token(c.app.state.runtime.engine, "admin", "admin")))  # type: ignore[attr-defined]
        r = c.put("/api/rota/weekly", json={"shifts": [
            {"weekday": 5, "start": "20:00", "end": "08:00", "user": "admin", "duty": "leader"}]})
        assert r.status_code == 200, r.text
        body = c.get("/api/oncall").json()
        assert body["time_zone"] == "Europe/Berlin"
        assert body["leaders"][0]["start"] == "2026-03-28T19:00:00.000Z"
        assert body["leaders"][0]["end"] == "2026-03-29T06:00:00.000Z"
        assert body["dispatchers"] == [] and body["leader_missing"] is False
        clock.now = datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
        assert c.get("/api/oncall").json()["leaders"] == []
