"""Sign-in, tokens and roles through the HTTP API: each role may do what it should and is
refused (403) what it should not; the timeline records the signed-in user."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from device_adapters.events import DeviceEvent, EventKind
from gateway.api.routes.auth import throttle
from gateway.app import create_app
from gateway.cli import main as shewu
from gateway.config import Settings
from gateway.services.accounts import create_user
from gateway.services.events import apply_events
from gateway.storage.db import session
from tests.accounts import api_token, bearer, user_token
from tests.fakes import FakeClock

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def app_client(db_url: str, clock: FakeClock) -> Iterator[TestClient]:
    """No one signed in; users of every role exist: ``tokens[role]``."""
    settings = Settings(db_url=db_url, ingest=False, scheduler_interval=0)
    with TestClient(create_app(settings, clock=clock)) as c:
        engine = c.app.state.runtime.engine  # type: ignore[attr-defined]
        c.tokens = {  # type: ignore[attr-defined]
            "admin": user_token(engine, "boss", "admin"),
            "dispatcher": user_token(engine, "duty", "dispatcher"),
            "technician": user_token(engine, "wang", "technician", skills=["plumbing"]),
            "technician2": user_token(engine, "zhao", "technician", skills=["plumbing"]),
            "grid_worker": user_token(engine, "sun", "grid_worker", grid="G1"),
            "resident": user_token(engine, "granny", "resident"),
        }
        yield c


def h(client: TestClient, who: str) -> dict[str, str]:
    return bearer(client.tokens[who])  # type: ignore[attr-defined]


def fire(client: TestClient, kind: EventKind, device: str, grid: str = "") -> int:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    if grid:
        client.post("/api/devices", json={"device_id": device, "grid": grid}, headers=h(client, "admin"))
    with session(runtime.engine) as s:
        changes = apply_events(s, [DeviceEvent(device_id=device, kind=kind, at=runtime.clock(), source="native")],
                               now=runtime.clock())
        s.commit()
    return changes[0].order_id


# (method, path, body) → the roles allowed; every other role gets 403.
MATRIX: list[tuple[str, str, dict[str, object] | None, set[str]]] = [
    ("GET", "/api/orders", None, {"admin", "dispatcher", "technician", "grid_worker"}),
    ("GET", "/api/devices", None, {"admin", "dispatcher", "grid_worker"}),
    ("POST", "/api/devices", {"device_id": "new-dev"}, {"admin"}),
    ("GET", "/api/deadletters", None, {"admin"}),
    ("GET", "/api/users", None, {"admin", "dispatcher"}),
    ("POST", "/api/users", {"name": "newbie", "role": "technician"}, {"admin"}),
    ("POST", "/api/tokens", {"name": "erp", "role": "dispatcher"}, {"admin"}),
    ("GET", "/api/tokens", None, {"admin"}),
    ("PUT", "/api/dispatch/settings/leak", {"skill": "plumbing", "auto": True}, {"admin"}),
    ("PUT", "/api/me/status", {"status": "busy"}, {"admin", "dispatcher", "technician", "grid_worker"}),
]
ROLES = ["admin", "dispatcher", "technician", "grid_worker", "resident"]


@pytest.mark.parametrize(("method", "path", "body", "allowed"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_role_matrix(app_client: TestClient, method: str, path: str, body: dict[str, object] | None,
                     allowed: set[str]) -> None:
    for role in ROLES:
        r = app_client.request(method, path, json=body, headers=h(app_client, role))
        if role in allowed:
            assert r.status_code in (200, 201, 409), (role, r.status_code, r.text)  # 409: created by a previous role
        else:
            assert r.status_code == 403, (role, r.status_code, r.text)
    assert app_client.request(method, path, json=body).status_code == 401


def test_emergency_actions_by_role(app_client: TestClient) -> None:
    oid = fire(app_client, EventKind.SOS, "sos-1")
    for role in ("technician", "grid_worker", "resident"):
        assert app_client.post(f"/api/orders/{oid}/ack", json={}, headers=h(app_client, role)).status_code == 403
        r = app_client.post(f"/api/orders/{oid}/cancel", json={"reason": "x"}, headers=h(app_client, role))
        assert r.status_code == 403
    assert app_client.post(f"/api/orders/{oid}/ack", json={}, headers=h(app_client, "dispatcher")).status_code == 200
    r = app_client.post(f"/api/orders/{oid}/dispatch", json={"technician": "wang"}, headers=h(app_client, "technician"))
    assert r.status_code == 403
    r = app_client.post(f"/api/orders/{oid}/dispatch", json={"technician": "wang"}, headers=h(app_client, "dispatcher"))
    assert r.status_code == 200 and r.json()["assignee"] == "wang"
    # The other technician may not touch it, nor see it; the assigned one may work it.
    r = app_client.post(f"/api/orders/{oid}/arrive", json={}, headers=h(app_client, "technician2"))
    assert r.status_code == 403
    assert app_client.get(f"/api/orders/{oid}", headers=h(app_client, "technician2")).status_code == 403
    assert app_client.post(f"/api/orders/{oid}/arrive", json={}, headers=h(app_client, "technician")).status_code == 200
    r = app_client.post(f"/api/orders/{oid}/resolve", json={"note": "ok", "by": "someone else"},
                        headers=h(app_client, "technician"))
    assert r.status_code == 200
    # A technician cannot close (office work); a dispatcher can.
    assert app_client.post(f"/api/orders/{oid}/close", json={}, headers=h(app_client, "technician")).status_code == 403
    assert app_client.post(f"/api/orders/{oid}/close", json={}, headers=h(app_client, "dispatcher")).status_code == 200
    timeline = app_client.get(f"/api/orders/{oid}", headers=h(app_client, "admin")).json()["timeline"]
    assert [(e["action"], e["actor"]) for e in timeline[1:]] == [
        ("ack", "duty"), ("dispatch", "duty"), ("accept", "wang"), ("arrive", "wang"), ("resolve", "wang"),
        ("close", "duty")]


def test_technicians_see_their_own_and_grid_workers_their_grid(app_client: TestClient) -> None:
    mine = fire(app_client, EventKind.LEAK, "leak-1", grid="G1")
    other = fire(app_client, EventKind.LEAK, "leak-2", grid="G2")
    app_client.post(f"/api/orders/{mine}/dispatch", json={"technician": "wang"}, headers=h(app_client, "dispatcher"))
    app_client.post(f"/api/orders/{other}/dispatch", json={"technician": "zhao"}, headers=h(app_client, "dispatcher"))
    assert [o["id"] for o in app_client.get("/api/orders", headers=h(app_client, "technician")).json()] == [mine]
    assert [o["id"] for o in app_client.get("/api/orders", headers=h(app_client, "grid_worker")).json()] == [mine]
    assert len(app_client.get("/api/orders", headers=h(app_client, "dispatcher")).json()) == 2
    assert app_client.post(f"/api/orders/{other}/accept", json={}, headers=h(app_client, "technician")).status_code \
        == 403
    # a grid worker reads but does not act
    assert app_client.post(f"/api/orders/{mine}/accept", json={}, headers=h(app_client, "grid_worker")).status_code \
        == 403


def test_live_feed_needs_sign_in_and_is_scoped(app_client: TestClient) -> None:
    mine = fire(app_client, EventKind.LEAK, "leak-1")
    other = fire(app_client, EventKind.LEAK, "leak-2")
    with pytest.raises(WebSocketDisconnect) as refused, app_client.websocket_connect("/api/live") as ws:
        ws.receive_json()
    assert refused.value.code == 4401  # told why, so that the page goes to sign-in
    with pytest.raises(WebSocketDisconnect) as refused, app_client.websocket_connect(
            f"/api/live?token={app_client.tokens['resident']}") as ws:  # type: ignore[attr-defined]
        ws.receive_json()
    assert refused.value.code == 4403
    with app_client.websocket_connect(f"/api/live?token={app_client.tokens['technician']}") as ws:  # type: ignore[attr-defined]
        snap = ws.receive_json()
        assert snap["orders"] == [] and snap["me"] == {"name": "wang", "role": "technician"}
        d = h(app_client, "dispatcher")
        app_client.post(f"/api/orders/{other}/dispatch", json={"technician": "zhao"}, headers=d)  # not shown
        app_client.post(f"/api/orders/{mine}/dispatch", json={"technician": "wang"}, headers=d)
        msg = ws.receive_json()
        assert (msg["order"]["id"], msg["order"]["assignee"]) == (mine, "wang")
        app_client.post(f"/api/orders/{mine}/dispatch", json={"technician": "zhao"}, headers=d)  # taken away
        msg = ws.receive_json()
        assert (msg["order"]["id"], msg["order"]["assignee"]) == (mine, "zhao")  # once, so the page drops it
        app_client.post(f"/api/orders/{other}/accept", json={}, headers=h(app_client, "technician2"))
        app_client.post(f"/api/orders/{mine}/accept", json={}, headers=h(app_client, "technician2"))
        app_client.post(f"/api/orders/{mine}/dispatch", json={"technician": "wang"}, headers=d)
        msg = ws.receive_json()  # nothing about the others' work came before this
        assert (msg["order"]["id"], msg["order"]["assignee"], msg["order"]["status"]) == (mine, "wang", "dispatched")


def test_password_sign_in_cookie_logout_and_throttle(app_client: TestClient, clock: FakeClock) -> None:
    with session(app_client.app.state.runtime.engine) as s:  # type: ignore[attr-defined]
        create_user(s, name="liu", role="dispatcher", password="correct horse", now=T0, display_name="小刘")
        s.commit()
    throttle.clear("liu")
    assert app_client.post("/api/auth/login", json={"name": "liu", "password": "wrong one"}).status_code == 401
    r = app_client.post("/api/auth/login", json={"name": "liu", "password": "correct horse"})
    assert r.status_code == 200 and r.json()["role"] == "dispatcher"
    cookie = r.cookies.get("shewu_session")
    assert cookie and "httponly" in r.headers["set-cookie"].lower() and "samesite=strict" in \
        r.headers["set-cookie"].lower()
    assert app_client.get("/api/auth/me").json()["display_name"] == "小刘"  # the cookie signs in
    assert app_client.get("/api/orders").status_code == 200
    clock.now = T0 + timedelta(hours=13)  # sessions last 12 h
    assert app_client.get("/api/orders").status_code == 401
    clock.now = T0
    app_client.post("/api/auth/logout")
    assert app_client.get("/api/orders", headers=bearer(cookie)).status_code == 401  # revoked server-side
    app_client.cookies.clear()
    for _ in range(5):
        assert app_client.post("/api/auth/login", json={"name": "liu", "password": "nope"}).status_code == 401
    assert app_client.post("/api/auth/login", json={"name": "liu", "password": "correct horse"}).status_code == 429
    throttle.clear("liu")


def test_tokens_revoke_and_deactivation(app_client: TestClient) -> None:
    admin = h(app_client, "admin")
    r = app_client.post("/api/tokens", json={"name": "erp", "role": "dispatcher"}, headers=admin)
    token = r.json()["token"]
    oid = fire(app_client, EventKind.SOS, "sos-9")
    assert app_client.post(f"/api/orders/{oid}/ack", json={}, headers=bearer(token)).status_code == 200
    timeline = app_client.get(f"/api/orders/{oid}", headers=admin).json()["timeline"]
    assert timeline[-1]["actor"] == "token:erp"
    [row] = [t for t in app_client.get("/api/tokens", headers=admin).json() if t["name"] == "erp"]
    assert app_client.delete(f"/api/tokens/{row['id']}", headers=admin).status_code == 200
    assert app_client.get("/api/orders", headers=bearer(token)).status_code == 401
    # Deactivating a user ends their sessions; they cannot demote themselves.
    assert app_client.patch("/api/users/wang", json={"active": False}, headers=admin).status_code == 200
    assert app_client.get("/api/orders", headers=h(app_client, "technician")).status_code == 401
    assert app_client.patch("/api/users/boss", json={"role": "technician"}, headers=admin).status_code == 409
    assert app_client.get("/api/users", headers=admin).json()[0].keys().isdisjoint({"password_hash"})


def test_cli_creates_the_first_admin_and_a_token(tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    import io

    url = f"sqlite:///{tmp_path}/cli.db"  # type: ignore[operator]
    monkeypatch.setattr("sys.stdin", io.StringIO("first-admin-pw\n"))
    assert shewu(["user", "add", "root", "--role", "admin", "--password-stdin", "--db", url]) == 0
    assert shewu(["user", "add", "root", "--role", "admin", "--no-password", "--db", url]) == 2  # exists
    assert shewu(["user", "add", "x y", "--role", "admin", "--no-password", "--db", url]) == 2  # bad name
    capsys.readouterr()
    assert shewu(["token", "create", "--name", "ci", "--role", "dispatcher", "--db", url]) == 0
    token = capsys.readouterr().out.strip()
    settings = Settings(db_url=url, ingest=False, scheduler_interval=0)
    with TestClient(create_app(settings)) as c:
        assert c.get("/api/auth/me", headers=bearer(token)).json()["role"] == "dispatcher"
        r = c.post("/api/auth/login", json={"name": "root", "password": "first-admin-pw"})
        assert r.status_code == 200 and r.json()["role"] == "admin"
    assert shewu(["token", "revoke", "--name", "ci", "--db", url]) == 0
    with TestClient(create_app(settings)) as c:
        assert c.get("/api/auth/me", headers=bearer(token)).status_code == 401


def test_api_tokens_are_stored_hashed(engine: object) -> None:
    from sqlmodel import select

    from gateway.storage.models import ApiToken, User

    token = api_token(engine, "n", "admin")  # type: ignore[arg-type]
    with session(engine) as s:  # type: ignore[arg-type]
        create_user(s, name="p", role="admin", password="a-long-password", now=T0)
        s.commit()
        stored = s.exec(select(ApiToken)).one()
        assert token not in stored.token_hash and len(stored.token_hash) == 64
        user = s.exec(select(User).where(User.name == "p")).one()
        assert user.password_hash and "a-long-password" not in user.password_hash
        assert user.password_hash.startswith("scrypt$")


def test_a_grid_worker_without_a_grid_sees_no_orders(app_client: TestClient) -> None:
    nogrid = bearer(user_token(app_client.app.state.runtime.engine, "new-gw", "grid_worker"))  # type: ignore[attr-defined]
    fire(app_client, EventKind.SOS, "sos-x")
    r = app_client.get("/api/orders", headers=nogrid)
    assert r.status_code == 403 and "grid" in r.json()["detail"]


def test_reserved_and_bad_names_and_skills_are_refused(tmp_path: pytest.TempPathFactory) -> None:
    url = f"sqlite:///{tmp_path}/names.db"  # type: ignore[operator]
    assert shewu(["user", "add", "event", "--role", "technician", "--no-password", "--db", url]) == 2
    assert shewu(["user", "add", "li", "--role", "technician", "--no-password", "--skills", "plumbing,bogus",
                  "--db", url]) == 2
    assert shewu(["user", "add", "li", "--role", "technician", "--no-password", "--skills", "plumbing",
                  "--db", url]) == 0


def test_an_unknown_name_and_a_wrong_password_get_the_same_answer(app_client: TestClient) -> None:
    throttle.clear("ghost")
    throttle.clear("duty")
    a = app_client.post("/api/auth/login", json={"name": "ghost", "password": "whatever-1"})
    b = app_client.post("/api/auth/login", json={"name": "duty", "password": "whatever-1"})
    assert (a.status_code, a.json()) == (b.status_code, b.json()) == (401, {"detail": "wrong user name or password"})
