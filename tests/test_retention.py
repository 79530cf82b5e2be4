"""Retention: the pruning job deletes what is older than its period, keeps what is newer or not
finished, never touches orders and their timelines, and deletes a bounded batch per statement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gateway.config import from_args
from gateway.domain.retention import Retention, cutoffs
from gateway.metrics import Metrics
from gateway.notify.models import Notification
from gateway.retention import Pruner, retention_from
from gateway.storage.db import session
from gateway.storage.models import (
    ApiToken,
    DeadLetter,
    DeviceHistory,
    EscalationStep,
    Order,
    SeenEvent,
    TimelineEntry,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
RETENTION = Retention(dead_letters=30, notifications=90, escalation_steps=30, api_tokens=30, device_history=90)


def days(n: float) -> datetime:
    return NOW - timedelta(days=n)


def fill(engine: Engine, *, per_kind: int) -> None:
    """``per_kind`` rows of each kind: just past their period (go) and just within it (stay)."""
    with session(engine) as s:
        old = Order(kind="sos", category="emergency", priority="P1", status="closed", device_id="d",
                    opened_at=days(400), onsite_due_at=days(400), at_risk_at=days(400), closed_at=days(399))
        s.add(old)
        s.flush()
        s.add(TimelineEntry(order_id=old.id, at=days(400), actor="gateway", action="opened"))
        for i in range(per_kind):
            for age, tag in ((31, "old"), (29, "new")):
                s.add(DeadLetter(received_at=days(age), topic=f"t/{tag}/{i}", reason="not_json", payload=b"x"))
                s.add(EscalationStep(order_id=old.id, order_kind="sos", step=f"{tag}-{i}", due_at=days(age),
                                     status="fired" if i % 2 else "void", done_at=days(age)))
                s.add(ApiToken(name=f"{tag}-{i}", kind="session", token_hash=f"{tag}-exp-{i}", role="admin",
                               created_at=days(age + 14), expires_at=days(age)))
                s.add(ApiToken(name=f"{tag}-{i}", token_hash=f"{tag}-rev-{i}", role="admin",
                               created_at=days(400), revoked_at=days(age)))
                s.add(SeenEvent(event_id=f"{tag}-{i}", seen_at=days(age - 22)))  # 9 days / 7 days
            for age, tag in ((91, "old"), (89, "new")):
                s.add(Notification(channel="c", kind="escalation", payload={}, status="sent" if i % 2 else "failed",
                                   next_attempt_at=days(age), created_at=days(age), recipient=tag))
                s.add(DeviceHistory(device_id=f"{tag}-{i}", at=days(age), battery=50.0))
        # not finished: kept however old
        s.add(EscalationStep(order_id=old.id, order_kind="sos", step="pending", due_at=days(300)))
        s.add(Notification(channel="c", kind="escalation", payload={}, status="pending", next_attempt_at=days(300),
                           created_at=days(300), recipient="pending"))
        s.add(ApiToken(name="integration", token_hash="live", role="admin", created_at=days(400)))
        s.commit()


def count(engine: Engine, model: Any, where: Any = None) -> int:
    table = model.__table__
    q = sa.select(sa.func.count()).select_from(table)
    if where is not None:
        q = q.where(where(table.c))
    with engine.connect() as conn:
        return int(conn.execute(q).scalar_one())


def test_cutoffs_are_pure_and_keep_seen_events_for_the_redelivery_window() -> None:
    got = cutoffs(Retention(dead_letters=0, notifications=7), now=NOW, seen_events=timedelta(days=8))
    assert "dead_letters" not in got  # 0: kept for ever
    assert got["notifications"] == days(7) and got["seen_events"] == days(8)
    assert not {"orders", "order_timeline", "service_requests"} & set(got)


def test_the_settings_give_the_periods() -> None:
    import argparse

    from gateway.config import add_settings_arguments

    parser = argparse.ArgumentParser()
    add_settings_arguments(parser)
    settings = from_args(parser.parse_args(["--retain-dead-letters-days", "7", "--retain-device-history-days", "0"]))
    r = retention_from(settings)
    assert (r.dead_letters, r.device_history, r.notifications) == (7, 0, 90)
    with pytest.raises(SystemExit):
        parser.parse_args(["--retain-tokens-days", "-1"])


def test_pruning_deletes_what_is_past_its_period_in_bounded_batches(engine: Engine) -> None:
    fill(engine, per_kind=7)
    deletes: list[int] = []

    @sa.event.listens_for(engine, "after_cursor_execute")
    def watch(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            deletes.append(cursor.rowcount)

    metrics = Metrics()
    pruner = Pruner(engine=engine, clock=lambda: NOW, retention=RETENTION, metrics=metrics, batch=3)
    totals: dict[str, int] = {}
    ticks = 0
    while True:
        ticks += 1
        for name, n in pruner.tick().items():
            assert n <= 3
            totals[name] = totals.get(name, 0) + n
        if not pruner.busy:
            break
        assert ticks < 50
    sa.event.remove(engine, "after_cursor_execute", watch)
    assert deletes and max(deletes) <= 3  # no statement deletes more than a batch
    assert ticks >= 3  # 7 rows to go at 3 a batch: the round took several polls
    assert totals == {"dead_letters": 7, "escalation_steps": 7, "api_tokens": 14, "seen_events": 7,
                      "notifications": 7, "device_history": 7}
    text = metrics.render()
    assert 'shewu_rows_pruned_total{table="api_tokens"} 14' in text
    assert 'shewu_rows_pruned_total{table="device_history"} 7' in text

    # what is newer, or not finished, stays
    assert count(engine, DeadLetter) == 7 and count(engine, DeviceHistory) == 7
    assert count(engine, EscalationStep) == 8 and count(engine, EscalationStep, lambda c: c.step == "pending") == 1
    assert count(engine, Notification) == 8 and count(engine, Notification, lambda c: c.status == "pending") == 1
    assert count(engine, ApiToken) == 15 and count(engine, ApiToken, lambda c: c.token_hash == "live") == 1
    assert count(engine, SeenEvent) == 7 and count(engine, SeenEvent, lambda c: c.event_id.like("old-%")) == 0
    # the service record: untouched, however old
    assert count(engine, Order) == 1 and count(engine, TimelineEntry) == 1

    assert pruner.tick() == {}  # the round is over: nothing until the next one is due


def test_a_period_of_zero_keeps_for_ever_and_a_new_round_comes_later(engine: Engine) -> None:
    fill(engine, per_kind=2)
    now = [NOW]
    pruner = Pruner(engine=engine, clock=lambda: now[0], every=timedelta(minutes=10),
                    retention=Retention(dead_letters=0, notifications=0, escalation_steps=0, api_tokens=0,
                                        device_history=0))
    assert pruner.tick() == {"seen_events": 2}
    assert count(engine, DeadLetter) == 4 and count(engine, DeviceHistory) == 4
    with session(engine) as s:  # more seen events age past the window
        s.add(SeenEvent(event_id="later", seen_at=days(8.1)))
        s.commit()
    assert pruner.tick() == {}
    now[0] = NOW + timedelta(minutes=10)
    assert pruner.tick() == {"seen_events": 1}
