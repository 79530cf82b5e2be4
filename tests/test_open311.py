"""Open311 GeoReport v2 over HTTP: the request and response shapes checked against the spec's field
names, filing (form-encoded and JSON) through ``file_request`` with repeats linked as through the
API, our states as open/closed with notes, the search parameters, keys and scopes, and the error
shape."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Mount

from gateway.api.routes import lists as lists_routes
from gateway.api.routes import open311 as open311_routes
from gateway.app import create_app
from gateway.config import Settings
from gateway.domain.requests import CATEGORIES
from gateway.storage.db import session
from gateway.storage.models import Home, User
from tests.accounts import api_token, bearer, user_token
from tests.fakes import FakeClock

T0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
BASE = "/open311/v2"

# GeoReport v2, "GET Service List" → Response: every field of a service.
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
# "GET Service Definition" → Response.
DEFINITION_FIELDS = {"service_code", "attributes"}
# "POST Service Request" → Response (realtime: an id, not a token).
POSTED_FIELDS = {"service_request_id", "service_notice", "account_id"}
# "GET Service Requests" / "GET Service Request" → Response: every field of a request.
REQUEST_FIELDS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
}
# "Errors" → Response.
ERROR_FIELDS = {"code", "description"}
DATETIME_FIELDS = ("requested_datetime", "updated_datetime", "expected_datetime")


def with_routers(app: FastAPI) -> FastAPI:
    """Register this module's routers if the app does not (yet), ahead of the dashboard mount."""
    paths = {getattr(r, "path", "") for r in app.router.routes}
    for module in (lists_routes, open311_routes):
        if not any(p.startswith(module.router.prefix) for p in paths):
            app.include_router(module.router)
    mounts = [r for r in app.router.routes if isinstance(r, Mount)]
    for m in mounts:
        app.router.routes.remove(m)
        app.router.routes.append(m)
    return app


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def client(db_url: str, clock: FakeClock, tmp_path: object) -> Iterator[TestClient]:
    settings = Settings(db_url=db_url, ingest=False, scheduler_interval=0, photo_dir=f"{tmp_path}/photos")
    with TestClient(with_routers(create_app(settings, clock=clock))) as c:
        engine = c.app.state.runtime.engine  # type: ignore[attr-defined]
        with session(engine) as s:
            s.add(Home(home_id="3-2-101", address="幸福小区3栋2单元101", grid="G1", resident="王秀英"))
            s.add(Home(home_id="5-1-201", address="幸福小区5栋1单元201", grid="G2", resident="赵大爷"))
            s.commit()
        c.keys = {  # type: ignore[attr-defined]
            "crm": api_token(engine, "crm", "dispatcher"),  # an integration: files for any home
            "gridbot": api_token(engine, "gridbot", "grid_worker"),  # an integration token has no grid
            "duty": user_token(engine, "duty", "dispatcher"),
            "wang": user_token(engine, "wang", "technician", skills=["plumbing"]),
            "sun": user_token(engine, "sun", "grid_worker", grid="G1"),
            "zhou": user_token(engine, "zhou", "grid_worker", grid="G2"),
            "granny": user_token(engine, "granny", "resident"),
        }
        with session(engine) as s:
            granny = s.get(User, "granny")
            assert granny is not None
            granny.home_id = "3-2-101"
            s.add(granny)
            s.commit()
        yield c


def key(client: TestClient, who: str) -> str:
    return client.keys[who]  # type: ignore[attr-defined,no-any-return]


def post(client: TestClient, who: str = "crm", **fields: Any) -> Any:
    body = {"api_key": key(client, who), "service_code": "001", "address_id": "3-2-101",
            "description": "厨房水龙头漏水", **fields}
    return client.post(f"{BASE}/requests.json", data={k: v for k, v in body.items() if v is not None})


def filed(client: TestClient, who: str = "crm", **fields: Any) -> str:
    r = post(client, who, **fields)
    assert r.status_code == 200, r.text
    [answer] = r.json()
    return answer["service_request_id"]  # type: ignore[no-any-return]


def one(client: TestClient, rid: str, who: str = "duty") -> dict[str, Any]:
    r = client.get(f"{BASE}/requests/{rid}.json", params={"api_key": key(client, who)})
    assert r.status_code == 200, r.text
    [request] = r.json()
    return request  # type: ignore[no-any-return]


def act(client: TestClient, oid: int, action: str, who: str, **body: Any) -> None:
    r = client.post(f"/api/orders/{oid}/{action}", json=body, headers=bearer(key(client, who)))
    assert r.status_code == 200, r.text


def order_of(client: TestClient, rid: str) -> int:
    rows = client.get("/api/requests", headers=bearer(key(client, "duty"))).json()
    return next(r["order_id"] for r in rows if str(r["id"]) == rid)  # type: ignore[no-any-return]


def assert_error(r: Any, status: int, words: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert isinstance(body, list) and len(body) == 1 and set(body[0]) == ERROR_FIELDS, body
    assert body[0]["code"] == status and words in body[0]["description"], body


def assert_w3c(value: str | None) -> None:
    """ISO 8601 with a time zone (GeoReport v2: "Timezone information must be included")."""
    assert value is not None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None


# --- services ---------------------------------------------------------------------------------


def test_services_list_and_definition(client: TestClient) -> None:
    r = client.get(f"{BASE}/services.json")  # no key needed, as the spec says
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    services = r.json()
    assert isinstance(services, list) and len(services) == len(CATEGORIES)
    for s in services:
        assert set(s) == SERVICE_FIELDS, s
        assert s["metadata"] is False and s["type"] in ("realtime", "batch", "blackbox")
        assert isinstance(s["keywords"], str) and isinstance(s["group"], str) and s["service_name"]
    codes = {s["service_code"]: s for s in services}
    assert set(codes) == {c.open311 for c in CATEGORIES.values()}
    plumbing = codes["001"]
    assert plumbing["service_name"] == "维修·水管 / Repair: plumbing" and plumbing["group"] == "property"
    assert "repair_plumbing" in plumbing["keywords"].split(",") and "4" in plumbing["description"]

    r = client.get(f"{BASE}/services/001.json")
    assert r.status_code == 200 and set(r.json()) == DEFINITION_FIELDS
    assert r.json() == {"service_code": "001", "attributes": []}
    assert_error(client.get(f"{BASE}/services/777.json"), 404, "777")


# --- filing and following ---------------------------------------------------------------------


def test_file_form_encoded_and_follow(client: TestClient, clock: FakeClock) -> None:
    r = post(client, lat="31.2304", long="121.4737", email="son@example.com", first_name="小明", last_name="王",
             phone="13800000000", media_url="https://example.com/leak.jpg", jurisdiction_id="anything")
    assert r.status_code == 200, r.text
    [answer] = r.json()
    assert set(answer) == POSTED_FIELDS and answer["account_id"] is None
    rid = answer["service_request_id"]
    assert isinstance(rid, str) and rid.isdigit()
    assert "已受理" in answer["service_notice"]

    clock.now += timedelta(minutes=5)
    got = one(client, rid)
    assert set(got) == REQUEST_FIELDS, got
    for name in DATETIME_FIELDS:
        assert_w3c(got[name])
    assert got["service_request_id"] == rid and got["status"] == "open"
    assert got["service_code"] == "001" and got["service_name"] == "维修·水管 / Repair: plumbing"
    assert got["description"] == "厨房水龙头漏水" and got["service_notice"] == answer["service_notice"]
    assert got["address_id"] == "3-2-101" and got["address"] == "幸福小区3栋2单元101"
    assert (got["lat"], got["long"], got["media_url"]) == (31.2304, 121.4737, "https://example.com/leak.jpg")
    assert got["agency_responsible"] == "物业服务中心 / Property management"
    assert "待派单" in got["status_notes"] and "waiting to be dispatched" in got["status_notes"]
    assert got["requested_datetime"] == "2026-11-30T01:00:00.000Z"

    # it is an ordinary request: on the API's list, with the Open311 fields on its timeline
    oid = order_of(client, rid)
    detail = client.get(f"/api/orders/{oid}", headers=bearer(key(client, "duty"))).json()
    assert (detail["category"], detail["kind"], detail["home_id"]) == ("request", "repair_plumbing", "3-2-101")
    entry = next(e for e in detail["timeline"] if e["action"] == "open311")
    assert entry["actor"] == "token:crm"
    assert entry["data"]["email"] == "son@example.com" and entry["data"]["phone"] == "13800000000"


def test_file_json_with_bearer_and_repeats_are_linked(client: TestClient) -> None:
    headers = bearer(key(client, "crm"))
    r = client.post(f"{BASE}/requests.json", json={"service_code": "001", "address_string": "幸福小区3栋2单元101",
                                                   "description": "厨房漏水"}, headers=headers)
    assert r.status_code == 200, r.text
    first = r.json()[0]["service_request_id"]
    # the same home and category while the first is open: joined to its order, as through the API
    again = client.post(f"{BASE}/requests.json", json={"service_code": "001", "address_id": "3-2-101",
                                                       "description": "还在漏"}, headers=headers).json()[0]
    oid = order_of(client, first)
    assert order_of(client, again["service_request_id"]) == oid and again["service_request_id"] != first
    assert f"#{oid}" in again["service_notice"] and "已并入" in again["service_notice"]
    api = client.post("/api/requests", json={"category": "repair_plumbing", "home_id": "3-2-101",
                                             "description": "第三次"}, headers=bearer(key(client, "sun")))
    assert api.status_code == 201 and api.json()["linked"] and api.json()["order_id"] == oid
    detail = client.get(f"/api/orders/{oid}", headers=bearer(key(client, "duty"))).json()
    assert detail["event_count"] == 3
    assert [e["actor"] for e in detail["timeline"] if e["action"] == "linked_request"] == ["token:crm", "sun"]
    joined = one(client, again["service_request_id"])
    assert joined["status"] == "open" and "joined" in joined["status_notes"] and f"#{oid}" in joined["status_notes"]
    # the request filed through the API is an Open311 request too
    listed = client.get(f"{BASE}/requests.json", params={"api_key": key(client, "duty")}).json()
    assert len(listed) == 3 and all(set(x) == REQUEST_FIELDS for x in listed)
    assert {x["service_request_id"] for x in listed} >= {first, again["service_request_id"]}


def test_states_map_to_open_and_closed_with_notes(client: TestClient, clock: FakeClock) -> None:
    rid = filed(client)
    oid = order_of(client, rid)
    steps = [("dispatch", "duty", {"technician": "wang"}, "待师傅接单"), ("accept", "wang", {}, "已接单"),
             ("depart", "wang", {}, "on the way"), ("arrive", "wang", {}, "on site"),
             ("third_party", "wang", {"reason": "燃气公司 Gas company"}, "燃气公司 Gas company"),
             ("resume", "wang", {}, "on site")]
    for action, who, body, words in steps:
        clock.now += timedelta(minutes=10)
        act(client, oid, action, who, **body)
        got = one(client, rid)
        assert got["status"] == "open" and words in got["status_notes"], (action, got["status_notes"])
        assert got["updated_datetime"] == clock.now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    clock.now += timedelta(minutes=10)
    act(client, oid, "resolve", "wang", note="换了阀芯")
    got = one(client, rid)
    assert got["status"] == "closed" and "awaiting the resident's confirmation" in got["status_notes"]
    assert got["expected_datetime"] is None  # nothing more is expected
    r = client.post(f"/api/requests/{oid}/confirm", json={"rating": 5}, headers=bearer(key(client, "granny")))
    assert r.status_code == 200
    got = one(client, rid)
    assert got["status"] == "closed" and "rated 5/5" in got["status_notes"] and "评分 5/5" in got["status_notes"]

    other = filed(client, service_code="010", description="楼上噪音")
    act(client, order_of(client, other), "cancel", "duty", reason="邻居已协商解决")
    got = one(client, other)
    assert got["status"] == "closed" and "Cancelled: 邻居已协商解决" in got["status_notes"]
    assert got["agency_responsible"] == "社区居委会 / Community office"


def test_search_parameters(client: TestClient, clock: FakeClock) -> None:
    a = filed(client)
    clock.now += timedelta(days=1)
    b = filed(client, service_code="010", description="楼上噪音")
    clock.now += timedelta(days=1)
    c = filed(client, service_code="012", address_id="5-1-201", description="楼道需要保洁")
    act(client, order_of(client, b), "cancel", "duty", reason="已解决")
    k = {"api_key": key(client, "duty")}

    def ids(**params: str) -> list[str]:
        r = client.get(f"{BASE}/requests.json", params={**k, **params})
        assert r.status_code == 200, r.text
        return [x["service_request_id"] for x in r.json()]

    assert ids() == [c, b, a]  # newest first
    assert ids(status="open") == [c, a] and ids(status="closed") == [b] and ids(status="open,closed") == [c, b, a]
    assert ids(service_code="001,012") == [c, a]
    assert ids(start_date="2026-12-01T00:00:00Z") == [c, b]
    assert ids(start_date="2026-11-30T09:00:00+08:00", end_date="2026-11-30T09:00:00+08:00") == [a]
    assert ids(end_date="2026-11-30T12:00:00Z") == [a]
    # service_request_id overrides every other argument
    assert sorted(ids(service_request_id=f"{a},{c}", status="closed", service_code="010")) == sorted([a, c])
    # the default and the longest window: 90 days
    clock.now += timedelta(days=91)
    assert ids() == []
    assert ids(start_date="2026-11-29T00:00:00Z") == [c, b, a]
    assert_error(client.get(f"{BASE}/requests.json", params={**k, "start_date": "2026-01-01T00:00:00Z",
                                                             "end_date": "2026-12-01T00:00:00Z"}), 400, "90 days")
    assert_error(client.get(f"{BASE}/requests.json", params={**k, "status": "pending"}), 400, "open or closed")
    assert_error(client.get(f"{BASE}/requests.json", params={**k, "service_code": "777"}), 400, "777")
    assert_error(client.get(f"{BASE}/requests.json", params={**k, "start_date": "yesterday"}), 400, "ISO 8601")
    assert_error(client.get(f"{BASE}/requests.json", params={**k, "service_request_id": "1,x"}), 400,
                 "service_request_id")


def test_keys_and_scopes(client: TestClient) -> None:
    g1 = filed(client)
    g2 = filed(client, service_code="012", address_id="5-1-201", description="楼道需要保洁")
    # a grid worker (session key) files for their grid only; the resident for their home whatever the address
    assert filed(client, "sun", service_code="011", description="需要上门助浴")
    assert_error(post(client, "sun", address_id="5-1-201"), 403, "not in your grid")
    assert_error(post(client, "gridbot"), 403, "dispatcher key")
    mine = filed(client, "granny", service_code="003", address_id="5-1-201", description="冰箱不制冷")
    assert one(client, mine, "granny")["address_id"] == "3-2-101"
    assert_error(post(client, "wang"), 403, "may not file")

    def listed(who: str) -> set[str]:
        r = client.get(f"{BASE}/requests.json", params={"api_key": key(client, who)})
        assert r.status_code == 200, r.text
        return {x["service_request_id"] for x in r.json()}

    assert g1 in listed("sun") and g2 not in listed("sun") and g2 in listed("zhou") and g1 not in listed("zhou")
    assert listed("granny") >= {g1, mine} and g2 not in listed("granny")
    assert listed("wang") == set()  # technicians: the orders assigned to them
    act(client, order_of(client, g2), "dispatch", "duty", technician="wang")
    assert listed("wang") == {g2}
    # a request the asker may not see is not found, like an unknown one
    assert_error(client.get(f"{BASE}/requests/{g2}.json", params={"api_key": key(client, "sun")}), 404, g2)
    assert_error(client.get(f"{BASE}/requests/999999.json", params={"api_key": key(client, "duty")}), 404, "999999")
    assert_error(client.get(f"{BASE}/requests/abc.json", params={"api_key": key(client, "duty")}), 404, "abc")
    # the key: missing or unknown is 403, as GeoReport v2 says
    assert_error(client.get(f"{BASE}/requests.json"), 403, "api_key")
    assert_error(client.get(f"{BASE}/requests.json", params={"api_key": "nope"}), 403, "invalid")
    assert_error(client.post(f"{BASE}/requests.json", data={"service_code": "001", "address_id": "3-2-101",
                                                            "description": "x"}), 403, "api_key")
    # never a browser's sign-in cookie: a cross-site form must not file on someone's session
    client.cookies.set("shewu_session", key(client, "duty"))
    assert_error(client.post(f"{BASE}/requests.json", data={"service_code": "001", "address_id": "3-2-101",
                                                            "description": "x"}), 403, "api_key")
    assert client.get("/api/requests").status_code == 200  # the cookie itself is good
    client.cookies.clear()


def test_bad_requests(client: TestClient) -> None:
    assert_error(post(client, service_code=None), 400, "service_code was not provided")
    assert_error(post(client, service_code="777"), 404, "service_code '777' was not found")
    assert_error(post(client, address_id=None), 400, "location")
    assert_error(post(client, address_id=None, lat="31.2", long="121.4"), 400, "lat/long alone")
    assert_error(post(client, address_id="9-9-999"), 400, "address_id")
    assert_error(post(client, address_id=None, address_string="火星1号"), 400, "address_string")
    assert_error(post(client, lat="31.2"), 400, "together")
    assert_error(post(client, lat="north", long="121.4"), 400, "lat")
    assert_error(post(client, lat="91", long="121.4"), 400, "lat")
    assert_error(post(client, description=None), 400, "description")
    r = client.post(f"{BASE}/requests.json", content=b"<xml/>", headers={"content-type": "text/xml",
                                                                         **bearer(key(client, "crm"))})
    assert_error(r, 400, "form-encoded")
    r = client.post(f"{BASE}/requests.json", content=b"[1]", headers={"content-type": "application/json",
                                                                      **bearer(key(client, "crm"))})
    assert_error(r, 400, "JSON")
    # nothing was filed by any of these
    assert client.get(f"{BASE}/requests.json", params={"api_key": key(client, "duty")}).json() == []
