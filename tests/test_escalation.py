"""Escalation ladders as durable timers, with an injected clock: every step fires once, at its
time; acknowledging stops the acknowledgement steps and arriving stops the on-site steps;
two schedulers, or a restarted one, neither miss nor repeat a step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from threading import Barrier, Thread

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from device_adapters.events import DeviceEvent, EventKind
from gateway.domain.ladders import P1, plan
from gateway.domain.orders import Action
from gateway.scheduler import Scheduler
from gateway.services.escalation import fire_due
from gateway.services.events import apply_events
from gateway.services.order_actions import act
from gateway.storage import crud
from gateway.storage.db import session
from gateway.storage.models import EscalationStep

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def open_sos(engine: Engine, device: str = "elder-1-sos") -> int:
    with session(engine) as s:
        [change] = apply_events(s, [DeviceEvent(device_id=device, kind=EventKind.SOS, at=T0, source="native")], now=T0)
        s.commit()
    return change.order_id


def escalations(engine: Engine, order_id: int) -> list[str]:
    with session(engine) as s:
        return [e.data["step"] for e in crud.timeline_for(s, order_id=order_id)  # type: ignore[index]
                if e.action == "escalation"]


def test_p1_ladder_plan() -> None:
    assert [(s.name, due - T0) for s, due in plan("sos", T0)] == [
        ("auto_dispatch", timedelta(0)),  # void unless automatic dispatch is on for the kind
        ("raised", timedelta(0)),  # the on-call team is told at once
        ("ack_overdue", timedelta(seconds=60)),
        ("ack_overdue_leader", timedelta(minutes=3)),
        ("dispatch_overdue", timedelta(minutes=3)),
        ("onsite_at_risk", timedelta(minutes=10)),
        ("onsite_breached", timedelta(minutes=15)),
    ]
    assert P1[-1].breach and plan("unknown-kind", T0) == []


def test_an_ignored_sos_climbs_the_whole_ladder_once(engine: Engine) -> None:
    order_id = open_sos(engine)
    clock = Clock()
    scheduler = Scheduler(engine=engine, clock=clock, instance="a")
    expected: list[str] = []
    for minutes, new in ((0, ["raised"]), (0.99, []), (1, ["ack_overdue"]), (2, []),
                         (3, ["ack_overdue_leader", "dispatch_overdue"]), (9.9, []), (10, ["onsite_at_risk"]),
                         (15, ["onsite_breached"]), (60, [])):
        clock.now = T0 + timedelta(minutes=minutes)
        fired, _ = scheduler.run_once()
        assert [f.step for f in fired] == new, minutes
        expected += new
        assert escalations(engine, order_id) == expected
        assert all(f.late_s == 0 for f in fired)  # polled exactly at the due times


def test_ack_stops_the_ack_steps_and_arrival_the_onsite_steps(engine: Engine) -> None:
    order_id = open_sos(engine)
    clock = Clock()
    scheduler = Scheduler(engine=engine, clock=clock, instance="a")
    clock.now = T0 + timedelta(seconds=30)
    with session(engine) as s:
        act(s, order_id=order_id, action=Action.ACK, actor="值班员", now=clock.now)
        s.commit()
    clock.now = T0 + timedelta(minutes=4)
    assert [f.step for f in scheduler.run_once()[0]] == ["dispatch_overdue"]  # ack steps are void
    with session(engine) as s:
        act(s, order_id=order_id, action=Action.DISPATCH, actor="值班员", now=clock.now, technician="李师傅")
        act(s, order_id=order_id, action=Action.ARRIVE, actor="李师傅", now=clock.now)
        s.commit()
    clock.now = T0 + timedelta(hours=1)
    fired, taken = scheduler.run_once()
    assert fired == [] and taken == 2  # on-site steps: void
    with session(engine) as s:
        statuses = {st.step: st.status for st in s.exec(select(EscalationStep))}
    assert statuses == {"auto_dispatch": "void", "raised": "void",
                        "ack_overdue": "void", "ack_overdue_leader": "void", "dispatch_overdue": "fired",
                        "onsite_at_risk": "void", "onsite_breached": "void"}


def test_a_late_scheduler_fires_what_it_missed_once_and_says_how_late(engine: Engine) -> None:
    order_id = open_sos(engine)
    clock = Clock()
    clock.now = T0 + timedelta(minutes=12)  # the gateway was down for 12 minutes
    fired, _ = Scheduler(engine=engine, clock=clock, instance="restarted").run_once()
    assert [f.step for f in fired] == ["raised", "ack_overdue", "ack_overdue_leader", "dispatch_overdue",
                                       "onsite_at_risk"]
    assert fired[1].late_s == 11 * 60
    assert Scheduler(engine=engine, clock=clock, instance="again").run_once()[0] == []
    assert len(escalations(engine, order_id)) == 5


def test_a_poll_that_dies_before_commit_loses_nothing(engine: Engine) -> None:
    order_id = open_sos(engine)
    with session(engine) as s:
        fired, _ = fire_due(s, now=T0 + timedelta(minutes=2), instance="dying")
        assert [f.step for f in fired] == ["raised", "ack_overdue"]
        s.rollback()  # the process died before committing
    clock = Clock()
    clock.now = T0 + timedelta(minutes=2)
    assert [f.step for f in Scheduler(engine=engine, clock=clock, instance="b").run_once()[0]] == \
        ["raised", "ack_overdue"]
    assert escalations(engine, order_id) == ["raised", "ack_overdue"]


@pytest.mark.parametrize("schedulers", [2, 4])
def test_concurrent_schedulers_fire_each_step_once(engine: Engine, schedulers: int) -> None:
    orders = [open_sos(engine, f"elder-{i}-sos") for i in range(60)]
    clock = Clock()
    clock.now = T0 + timedelta(minutes=20)
    barrier = Barrier(schedulers)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            barrier.wait()
            scheduler = Scheduler(engine=engine, clock=clock, instance=name)
            mine: list[str] = []
            while True:
                fired, taken = scheduler.run_once()
                mine += [f"{f.order_id}:{f.step}" for f in fired]
                if taken == 0:
                    break
            results.append(mine)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [Thread(target=run, args=(f"s{i}",)) for i in range(schedulers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    everything = [x for r in results for x in r]
    assert len(everything) == len(set(everything)) == 60 * 6  # every step of every order, once
    assert all(len(escalations(engine, o)) == 6 for o in orders)


def test_a_scheduler_killed_between_steps_and_restarted_misses_and_repeats_nothing(db_url: str) -> None:
    """The first process fires the 60 s step and dies; a new process (new engine, new
    scheduler) takes over later: it fires the steps due since, once, and never the first again."""
    from gateway.storage.db import create_schema, make_engine

    first = make_engine(db_url)
    create_schema(first)
    order_id = open_sos(first)
    clock = Clock()
    clock.now = T0 + timedelta(seconds=90)
    assert [f.step for f in Scheduler(engine=first, clock=clock, instance="gw-1").run_once()[0]] == \
        ["raised", "ack_overdue"]
    first.dispose()  # the process is gone

    second = make_engine(db_url)
    clock.now = T0 + timedelta(minutes=4)
    restarted = Scheduler(engine=second, clock=clock, instance="gw-1")
    assert [f.step for f in restarted.run_once()[0]] == ["ack_overdue_leader", "dispatch_overdue"]
    assert restarted.run_once()[0] == []
    assert escalations(second, order_id) == ["raised", "ack_overdue", "ack_overdue_leader", "dispatch_overdue"]
    second.dispose()


def test_someone_on_site_voids_the_earlier_steps() -> None:
    from types import SimpleNamespace

    from gateway.domain.ladders import Until, still_applies

    arrived = SimpleNamespace(status="on_site", acknowledged_at=T0, dispatched_at=None, accepted_at=None,
                              arrived_at=T0, resolved_at=None)
    assert not any(still_applies(u, arrived) for u in (Until.ACKNOWLEDGED, Until.DISPATCHED, Until.ACCEPTED,
                                                        Until.ON_SITE))
    assert still_applies(Until.RESOLVED, arrived)
    resolved = SimpleNamespace(**{**vars(arrived), "status": "resolved", "resolved_at": T0})
    assert still_applies(Until.CLOSED, resolved) and not still_applies(Until.RESOLVED, resolved)
