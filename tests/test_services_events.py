"""Device events against a real database: orders open once, repeats count, notes land."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from threading import Barrier, Thread

from sqlalchemy.engine import Engine
from sqlmodel import select

from device_adapters.events import DeviceEvent, EventKind
from gateway.domain.orders import Action
from gateway.services.events import apply_events
from gateway.services.order_actions import act
from gateway.storage import crud
from gateway.storage.db import session
from gateway.storage.models import Device, DeviceStatus, Order

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def ev(kind: EventKind, device: str = "elder-101-sos", at: datetime = T0, **kw: object) -> DeviceEvent:
    return DeviceEvent(device_id=device, kind=kind, at=at, source="native", raw=kw.pop("raw", {}), **kw)  # type: ignore[arg-type]


def apply(engine: Engine, events: list[DeviceEvent], now: datetime = T0) -> list[tuple[int, str]]:
    with session(engine) as s:
        changes = apply_events(s, events, now=now)
        s.commit()
    return [(c.order_id, c.event) for c in changes]


def orders(engine: Engine) -> list[Order]:
    with session(engine) as s:
        return list(s.exec(select(Order).order_by(Order.id)).all())


def test_sos_opens_one_p1_order_with_clocks(engine: Engine) -> None:
    with session(engine) as s:
        crud.save_device(s, device=Device(device_id="elder-101-sos", resident="王秀英", address="3栋101", grid="G1"))
        s.commit()
    changes = apply(engine, [ev(EventKind.SOS, raw={"action": "emergency"})])
    assert [c[1] for c in changes] == ["opened"]
    [order] = orders(engine)
    assert (order.kind, order.priority, order.status, order.category) == ("sos", "P1", "open", "emergency")
    assert order.resident == "王秀英" and not order.unregistered
    assert order.ack_due_at == T0 + timedelta(seconds=60)
    assert order.onsite_due_at == T0 + timedelta(minutes=15)
    with session(engine) as s:
        timeline = crud.timeline_for(s, order_id=order.id or 0)
    assert [e.action for e in timeline] == ["opened"]
    assert timeline[0].data and timeline[0].data["reading"] == {"action": "emergency"}


def test_repeats_are_counted_not_reopened(engine: Engine) -> None:
    apply(engine, [ev(EventKind.SOS)])
    later = T0 + timedelta(seconds=5)
    changes = apply(engine, [ev(EventKind.SOS, at=later), ev(EventKind.SOS)], now=later)
    assert [c[1] for c in changes] == ["repeat", "repeat"]
    [order] = orders(engine)
    assert order.event_count == 3
    with session(engine) as s:
        assert [e.action for e in crud.timeline_for(s, order_id=order.id or 0)] == ["opened", "repeat", "repeat"]


def test_exact_redelivery_by_event_id_is_dropped(engine: Engine) -> None:
    apply(engine, [ev(EventKind.SOS, event_id="abc")])
    assert apply(engine, [ev(EventKind.SOS, event_id="abc")]) == []
    [order] = orders(engine)
    assert order.event_count == 1


def test_unknown_device_still_opens_an_emergency(engine: Engine) -> None:
    apply(engine, [ev(EventKind.FALL, device="stranger")])
    [order] = orders(engine)
    assert order.unregistered and order.kind == "fall" and order.priority == "P1"


def test_resolved_order_frees_the_key(engine: Engine) -> None:
    [(order_id, _)] = apply(engine, [ev(EventKind.SOS)])
    with session(engine) as s:
        for action, kw in ((Action.ACK, {}), (Action.ARRIVE, {}), (Action.RESOLVE, {})):
            act(s, order_id=order_id, action=action, actor="值班员", now=T0, **kw)  # type: ignore[arg-type]
        s.commit()
    changes = apply(engine, [ev(EventKind.SOS)])
    assert changes[0][1] == "opened" and changes[0][0] != order_id


def test_leak_ticket_gets_cleared_note_but_stays_open(engine: Engine) -> None:
    apply(engine, [ev(EventKind.LEAK, device="kitchen-leak")])
    changes = apply(engine, [ev(EventKind.LEAK_CLEARED, device="kitchen-leak")])
    assert [c[1] for c in changes] == ["updated"]
    [order] = orders(engine)
    assert order.status == "new" and order.priority == "P2" and order.category == "repair"
    with session(engine) as s:
        assert [e.action for e in crud.timeline_for(s, order_id=order.id or 0)] == ["opened", "leak_cleared"]
    # leak_cleared with no open ticket does nothing, and loses nothing that matters
    assert apply(engine, [ev(EventKind.LEAK_CLEARED, device="other")]) == []


def test_battery_and_tamper_open_maintenance_tickets(engine: Engine) -> None:
    apply(engine, [ev(EventKind.BATTERY_LOW, value=8), ev(EventKind.TAMPER)])
    assert sorted((o.kind, o.priority) for o in orders(engine)) == [("battery_low", "P3"), ("tamper", "P3")]


def test_device_status_moves_forward_only(engine: Engine) -> None:
    apply(engine, [ev(EventKind.HEARTBEAT, device="d1", at=T0, raw={"battery": 90, "linkquality": 100})])
    apply(engine, [ev(EventKind.TELEMETRY, device="d1", at=T0 - timedelta(minutes=5), raw={"battery": 95})])
    apply(engine, [ev(EventKind.AVAILABILITY, device="d1", value="offline")])
    with session(engine) as s:
        st = s.get(DeviceStatus, "d1")
    assert st is not None
    assert st.last_seen == T0  # the older message did not move it back
    assert st.messages == 3
    assert st.availability == "offline"
    assert st.linkquality == 100


def test_device_time_is_trusted_only_within_an_hour(engine: Engine) -> None:
    now = T0 + timedelta(minutes=5)
    apply(engine, [ev(EventKind.SOS, device="a", at=T0)], now=now)
    apply(engine, [ev(EventKind.SOS, device="b", at=T0 - timedelta(days=3))], now=now)
    apply(engine, [ev(EventKind.SOS, device="c", at=now + timedelta(days=3))], now=now)
    opened = {o.device_id: o.opened_at for o in orders(engine)}
    assert opened == {"a": T0, "b": now, "c": now}


def test_concurrent_writers_open_one_order(engine: Engine) -> None:
    """Two gateway instances handling the same alarm at once: the unique key decides."""
    n = 4
    barrier = Barrier(n)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            apply(engine, [ev(EventKind.SOS, device="race")])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    [order] = orders(engine)
    assert order.event_count == n


def test_late_messages_do_not_roll_device_state_back(engine: Engine) -> None:
    apply(engine, [ev(EventKind.AVAILABILITY, device="d2", at=T0, value="online", raw={"battery": 80})])
    # an "offline" from five minutes earlier arrives late (e.g. from a receiver's outbox)
    apply(engine, [ev(EventKind.AVAILABILITY, device="d2", at=T0 - timedelta(minutes=5), value="offline",
                      raw={"battery": 95})])
    # and inside one batch, the newest reading wins whatever the order
    apply(engine, [ev(EventKind.TELEMETRY, device="d3", at=T0, raw={"battery": 50}),
                   ev(EventKind.TELEMETRY, device="d3", at=T0 - timedelta(minutes=1), raw={"battery": 70})])
    with session(engine) as s:
        d2, d3 = s.get(DeviceStatus, "d2"), s.get(DeviceStatus, "d3")
    assert d2 is not None and d3 is not None
    assert (d2.availability, d2.battery, d2.messages) == ("online", 80, 2)
    assert (d3.battery, d3.messages) == (50, 2)


def test_a_late_repeat_does_not_move_last_event_back(engine: Engine) -> None:
    apply(engine, [ev(EventKind.SOS)])
    later = T0 + timedelta(seconds=30)
    apply(engine, [ev(EventKind.SOS, at=later)], now=later)
    apply(engine, [ev(EventKind.SOS, at=T0 + timedelta(seconds=10))], now=later + timedelta(seconds=1))
    [order] = orders(engine)
    assert order.event_count == 3
    assert order.last_event_at == later
