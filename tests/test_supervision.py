"""Device supervision with an injected clock: deadlines, grace and jitter; one ticket per
device; back-online notes; alarm devices raised to P2; power loss after a delay; and a
100,000-device run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from device_adapters.events import DeviceEvent, EventKind
from gateway.domain.supervision import BATTERY, MAINS, POWER_DELAY, POWER_JITTER, jitter, power_alarm_at, profile_for
from gateway.services.events import apply_events
from gateway.services.supervision import poll
from gateway.storage import crud
from gateway.storage.db import session
from gateway.storage.models import Device, DeviceSupervision, Order

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def register(engine: Engine, device_id: str, kind: str, model: str = "") -> None:
    with session(engine) as s:
        crud.save_device(s, device=Device(device_id=device_id, kind=kind, model=model, resident="王秀英",
                                          address="3栋101", grid="G1"))
        s.commit()


def hear(engine: Engine, device_id: str, at: datetime, kind: EventKind = EventKind.HEARTBEAT,
         value: object = None) -> None:
    with session(engine) as s:
        apply_events(s, [DeviceEvent(device_id=device_id, kind=kind, at=at, source="native", value=value)], now=at)
        s.commit()


def supervise(engine: Engine, now: datetime) -> list[str]:
    with session(engine) as s:
        found = poll(s, now=now)
        s.commit()
    return [e.kind.value for e in found.events]


def orders(engine: Engine) -> list[Order]:
    with session(engine) as s:
        return list(s.exec(select(Order).order_by(Order.id)))


def timeline(engine: Engine, order_id: int) -> list[str]:
    with session(engine) as s:
        return [e.action for e in crud.timeline_for(s, order_id=order_id)]


def test_profiles_are_data() -> None:
    assert profile_for("sos", "") is BATTERY and profile_for("fall", None) is MAINS
    assert profile_for("sos", "TS0601_fall") is MAINS  # a model overrides its kind
    assert BATTERY.interval == timedelta(hours=25) and MAINS.interval == timedelta(minutes=10)


def test_deadline_and_grace_then_one_ticket_raised_to_p2_for_an_sos_button(engine: Engine) -> None:
    register(engine, "sos-1", "sos")
    hear(engine, "sos-1", T0)
    assert supervise(engine, T0) == []  # enrolled: deadline = last seen + 25 h + 1 h grace
    assert supervise(engine, T0 + timedelta(hours=25, minutes=59)) == []  # inside the grace
    assert supervise(engine, T0 + timedelta(hours=26)) == ["device_offline"]
    [order] = orders(engine)
    assert (order.kind, order.priority, order.category, order.status) == ("offline", "P2", "maintenance", "new")
    assert order.resident == "王秀英"
    assert supervise(engine, T0 + timedelta(hours=30)) == []  # one ticket, not one per poll


def test_a_device_heard_in_time_moves_its_deadline(engine: Engine) -> None:
    register(engine, "leak-1", "leak")
    hear(engine, "leak-1", T0)
    supervise(engine, T0)
    hear(engine, "leak-1", T0 + timedelta(hours=20))
    assert supervise(engine, T0 + timedelta(hours=26)) == []
    with session(engine) as s:
        row = s.get(DeviceSupervision, "leak-1")
        assert row is not None and row.deadline_at == T0 + timedelta(hours=46) and row.state == "ok"
    assert supervise(engine, T0 + timedelta(hours=46)) == ["device_offline"]
    assert orders(engine)[0].priority == "P3"  # a leak sensor: maintenance as usual


def test_back_online_is_noted_the_ticket_stays_and_a_repeat_counts(engine: Engine) -> None:
    register(engine, "radar-1", "fall")
    hear(engine, "radar-1", T0)
    supervise(engine, T0)
    assert supervise(engine, T0 + timedelta(minutes=15)) == ["device_offline"]  # mains: 10 min + 5
    hear(engine, "radar-1", T0 + timedelta(minutes=20))
    assert supervise(engine, T0 + timedelta(minutes=20)) == ["device_online"]
    [order] = orders(engine)
    assert order.status == "new" and timeline(engine, order.id or 0) == ["opened", "device_online"]
    assert supervise(engine, T0 + timedelta(minutes=36)) == ["device_offline"]  # silent again
    [order] = orders(engine)
    assert order.event_count == 2  # counted on the same open ticket


def test_bridge_availability_offline_opens_the_ticket_at_once(engine: Engine) -> None:
    register(engine, "sos-2", "sos")
    hear(engine, "sos-2", T0)
    supervise(engine, T0)
    hear(engine, "sos-2", T0 + timedelta(minutes=1), EventKind.AVAILABILITY, "offline")
    assert supervise(engine, T0 + timedelta(minutes=1)) == ["device_offline"]
    with session(engine) as s:
        assert s.get(DeviceSupervision, "sos-2").offline_reason == "availability"  # type: ignore[union-attr]
    hear(engine, "sos-2", T0 + timedelta(minutes=5), EventKind.AVAILABILITY, "online")
    assert supervise(engine, T0 + timedelta(minutes=5)) == ["device_online"]


def test_unregistered_devices_are_not_supervised(engine: Engine) -> None:
    hear(engine, "stranger", T0)
    assert supervise(engine, T0 + timedelta(days=3)) == []


def test_jitter_is_bounded_fixed_per_outage_and_spread_across_devices() -> None:
    spreads = {jitter(f"hub-{i}", T0) for i in range(50)}
    assert all(timedelta(0) <= j < POWER_JITTER for j in spreads)
    assert len(spreads) == 50  # spread out, not one moment for the whole building
    assert jitter("hub-1", T0) == jitter("hub-1", T0)  # every instance computes the same time
    assert power_alarm_at("hub-1", T0) == T0 + POWER_DELAY + jitter("hub-1", T0)


def test_power_loss_opens_a_ticket_only_after_the_delay(engine: Engine) -> None:
    register(engine, "hub-1", "hub")
    register(engine, "hub-2", "hub")
    for hub in ("hub-1", "hub-2"):
        hear(engine, hub, T0)
        hear(engine, hub, T0 + timedelta(seconds=1), EventKind.POWER_LOST)
    supervise(engine, T0 + timedelta(seconds=1))  # the timers are set
    hear(engine, "hub-2", T0 + timedelta(minutes=3), EventKind.POWER_RESTORED)  # a short cut: forgotten
    due_1 = power_alarm_at("hub-1", T0 + timedelta(seconds=1))
    assert supervise(engine, due_1 - timedelta(seconds=1)) == []
    assert supervise(engine, due_1) == ["power_outage"]
    [order] = orders(engine)
    assert (order.device_id, order.kind, order.priority) == ("hub-1", "power_lost", "P3")
    # once per outage (the hubs, silent for an hour, are now also offline: mains devices report every 10 min)
    assert supervise(engine, due_1 + timedelta(hours=1)) == ["device_offline", "device_offline"]
    hear(engine, "hub-1", due_1 + timedelta(hours=2), EventKind.POWER_RESTORED)
    assert timeline(engine, order.id or 0) == ["opened", "power_restored"]
    assert [o.kind for o in orders(engine)] == ["power_lost", "offline", "offline"]


def test_a_hundred_thousand_devices(engine: Engine) -> None:
    """Enrol 100,000 devices and check their deadlines; the silent ones get one ticket each."""
    n, silent = 100_000, 50
    with session(engine) as s:
        conn = s.connection()
        conn.execute(sa.insert(Device.__table__),  # type: ignore[attr-defined]
                     [{"device_id": f"d-{i:06d}", "kind": "leak", "model": "", "resident": "", "address": "",
                       "grid": f"G{i % 40}"} for i in range(n)])
        s.commit()
    with session(engine) as s:
        crud.upsert_device_status(s, rows=[{"device_id": f"d-{i:06d}", "last_seen": T0, "messages": 1}
                                           for i in range(n)])
        s.commit()
    polls = 0
    while True:
        polls += 1
        with session(engine) as s:
            found = poll(s, now=T0, limit=20_000)
            s.commit()
        if not found.busy:
            break
    assert polls == 6  # five to enrol, one that finds nothing to do
    later = T0 + timedelta(hours=24)
    with session(engine) as s:  # all but the silent ones report again
        crud.upsert_device_status(s, rows=[{"device_id": f"d-{i:06d}", "last_seen": later, "messages": 1}
                                           for i in range(silent, n)])
        s.commit()
    events: list[str] = []
    while True:
        with session(engine) as s:
            found = poll(s, now=T0 + timedelta(hours=26), limit=20_000)
            s.commit()
        events += [e.device_id for e in found.events]
        if not found.busy:
            break
    assert sorted(events) == [f"d-{i:06d}" for i in range(silent)]
    assert len(orders(engine)) == silent


def test_the_gateways_scheduler_runs_supervision_and_inactivity_and_tells_the_boards(db_url: str) -> None:
    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from gateway.config import Settings
    from gateway.storage.models import Home
    from tests.accounts import bearer, user_token

    class Clock:
        now = T0

        def __call__(self) -> datetime:
            return self.now

    clock = Clock()
    with TestClient(create_app(Settings(db_url=db_url, ingest=False, scheduler_interval=0), clock=clock)) as c:
        runtime = c.app.state.runtime  # type: ignore[attr-defined]
        c.headers.update(bearer(user_token(runtime.engine, "boss", "admin")))
        with session(runtime.engine) as s:
            s.add(Home(home_id="h1", resident="李大爷", inactivity_hours=2, window_start="00:00", window_end="24:00"))
            s.commit()
        c.post("/api/devices", json={"device_id": "sos-9", "kind": "sos"})
        c.post("/api/devices", json={"device_id": "pir-9", "kind": "motion"})
        with session(runtime.engine) as s:
            device = s.get(Device, "pir-9")
            assert device is not None
            device.home_id = "h1"
            s.add(device)
            s.commit()
        hear(engine=runtime.engine, device_id="sos-9", at=T0)
        hear(engine=runtime.engine, device_id="pir-9", at=T0, kind=EventKind.ACTIVITY)
        runtime.scheduler.supervise()
        with c.websocket_connect("/api/live") as ws:
            ws.receive_json()  # snapshot
            clock.now = T0 + timedelta(hours=26)
            runtime.scheduler.supervise()
            kinds = set()
            for _ in range(3):  # sos-9 and pir-9 offline, the home silent
                msg = ws.receive_json()
                assert msg["type"] == "order" and msg["event"] == "opened"
                kinds.add((msg["order"]["device_id"], msg["order"]["kind"]))
        assert kinds == {("sos-9", "offline"), ("pir-9", "offline"), ("pir-9", "wellbeing")}
        assert {o["kind"]: o["priority"] for o in c.get("/api/orders").json() if o["device_id"] == "sos-9"} == \
            {"offline": "P2"}


def test_two_instances_on_postgresql_split_the_deadlines_and_raise_each_once(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        import pytest

        pytest.skip("instances share one database only on PostgreSQL (SQLite is for one gateway)")
    from threading import Barrier, Thread

    from gateway.storage.db import create_schema, make_engine

    engine = make_engine(db_url)
    create_schema(engine)
    n = 3000
    with session(engine) as s:
        s.connection().execute(sa.insert(Device.__table__),  # type: ignore[attr-defined]
                               [{"device_id": f"d-{i:05d}", "kind": "leak", "model": "", "resident": "",
                                 "address": "", "grid": ""} for i in range(n)])
        crud.upsert_device_status(s, rows=[{"device_id": f"d-{i:05d}", "last_seen": T0, "messages": 1}
                                           for i in range(n)])
        s.commit()
    with session(engine) as s:
        poll(s, now=T0, limit=n)
        s.commit()
    barrier = Barrier(2)
    raised: list[list[str]] = [[], []]
    errors: list[BaseException] = []

    def instance(k: int) -> None:
        try:
            barrier.wait()
            while True:
                with session(engine) as s:
                    found = poll(s, now=T0 + timedelta(days=2), limit=500)
                    s.commit()
                raised[k] += [e.device_id for e in found.events]
                if not found.busy:
                    return
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [Thread(target=instance, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    everything = raised[0] + raised[1]
    assert len(everything) == len(set(everything)) == n  # each device raised once, by one instance
    with session(engine) as s:
        assert s.connection().execute(sa.text("SELECT count(*), max(event_count) FROM orders")).one() == (n, 1)
    engine.dispose()


def test_devices_are_not_blamed_for_the_gateways_downtime(engine: Engine) -> None:
    register(engine, "radar-9", "fall")  # mains: 10 min + 5 min grace
    hear(engine, "radar-9", T0)
    supervise(engine, T0)
    started = T0 + timedelta(hours=3)  # the gateway was down from T0+1 min to T0+3 h
    with session(engine) as s:
        assert poll(s, now=started, up_since=started).events == []  # not raised at start-up
        s.commit()
    hear(engine, "radar-9", started + timedelta(seconds=20))  # it was there all along
    with session(engine) as s:
        assert poll(s, now=started + timedelta(minutes=15, seconds=10), up_since=started).events == []
        s.commit()
    with session(engine) as s:  # silent again since +20 s: raised once its own deadline passes
        assert [e.kind.value for e in poll(s, now=started + timedelta(minutes=31), up_since=started).events] == \
            ["device_offline"]


def test_an_offline_finding_does_not_count_as_hearing_from_the_device(engine: Engine) -> None:
    register(engine, "radar-7", "fall")
    hear(engine, "radar-7", T0)
    supervise(engine, T0)
    supervise(engine, T0 + timedelta(days=6))
    from gateway.storage.models import DeviceStatus

    with session(engine) as s:
        status = s.get(DeviceStatus, "radar-7")
        assert status is not None and status.last_seen == T0 and status.messages == 1


def test_readings_are_sampled_at_most_every_15_minutes(engine: Engine) -> None:
    from gateway.storage.models import DeviceHistory

    register(engine, "hub-h", "hub", model="shewu-hub")  # deadline every 90 s
    at = T0
    hear(engine, "hub-h", at)
    supervise(engine, at)
    for _ in range(20):  # heartbeats every minute for 20 minutes, a pass at each deadline
        at += timedelta(minutes=1)
        hear(engine, "hub-h", at)
        supervise(engine, at + timedelta(seconds=91))
    with session(engine) as s:
        samples = list(s.exec(select(DeviceHistory).where(DeviceHistory.device_id == "hub-h")))
    assert len(samples) == 2  # at the first deadline and 15 minutes later, not every minute
