"""SLA clocks with an injected 'now': at risk at 10 minutes, breached at 15, no sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from device_adapters.events import EventKind
from gateway.domain.routing import EMERGENCY, Effect, NoteOnOrder, OpenOrder, open_key, route
from gateway.domain.sla import clock

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def p1_clock(now: datetime, *, acked: datetime | None = None, arrived: datetime | None = None,
             ended: datetime | None = None):  # type: ignore[no-untyped-def]
    return clock(
        now=now, opened_at=T0, ack_due_at=T0 + EMERGENCY.ack, onsite_due_at=T0 + EMERGENCY.onsite,
        at_risk_at=T0 + EMERGENCY.at_risk, acknowledged_at=acked, arrived_at=arrived, ended_at=ended,
    )


def test_fresh_order_counts_down() -> None:
    c = p1_clock(T0 + timedelta(seconds=30))
    assert c.elapsed_s == 30
    assert c.ack_remaining_s == 30
    assert c.onsite_remaining_s == 15 * 60 - 30
    assert not (c.ack_overdue or c.at_risk or c.breached)


def test_ack_overdue_after_60_seconds() -> None:
    assert p1_clock(T0 + timedelta(seconds=61)).ack_overdue
    assert not p1_clock(T0 + timedelta(seconds=61), acked=T0 + timedelta(seconds=59)).ack_overdue
    late = p1_clock(T0 + timedelta(minutes=5), acked=T0 + timedelta(seconds=90))
    assert late.ack_overdue and late.ack_remaining_s is None


def test_at_risk_at_ten_minutes_then_breached_at_fifteen() -> None:
    assert not p1_clock(T0 + timedelta(minutes=9, seconds=59)).at_risk
    risky = p1_clock(T0 + timedelta(minutes=10))
    assert risky.at_risk and not risky.breached
    breached = p1_clock(T0 + timedelta(minutes=15))
    assert breached.breached and not breached.at_risk
    assert breached.onsite_remaining_s == 0
    assert p1_clock(T0 + timedelta(minutes=20)).onsite_remaining_s == -300


def test_arrival_stops_the_onsite_clock() -> None:
    in_time = p1_clock(T0 + timedelta(hours=2), arrived=T0 + timedelta(minutes=14))
    assert not in_time.breached and not in_time.at_risk and in_time.onsite_remaining_s is None
    late = p1_clock(T0 + timedelta(hours=2), arrived=T0 + timedelta(minutes=16))
    assert late.breached


def test_cancel_stops_the_clock() -> None:
    c = p1_clock(T0 + timedelta(hours=1), ended=T0 + timedelta(minutes=3))
    assert c.elapsed_s == 180
    assert not c.breached and not c.at_risk


def test_routing_table() -> None:
    sos = route(EventKind.SOS)
    assert isinstance(sos, OpenOrder) and sos.priority == "P1" and sos.category == "emergency"
    assert isinstance(route(EventKind.FALL), OpenOrder)
    leak = route(EventKind.LEAK)
    assert isinstance(leak, OpenOrder) and leak.priority == "P2" and leak.category == "repair"
    assert route(EventKind.LEAK_CLEARED) == NoteOnOrder("leak")
    for kind in (EventKind.BATTERY_LOW, EventKind.TAMPER):
        rule = route(kind)
        assert isinstance(rule, OpenOrder) and rule.priority == "P3" and rule.category == "maintenance"
    assert route(EventKind.HEARTBEAT) is Effect.DEVICE_STATUS
    assert open_key("a/b", "sos") != open_key("a", "b/sos")
