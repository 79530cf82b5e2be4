"""The order state machine, pure: every legal step, and clear refusals for the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.domain.orders import (
    Action,
    Category,
    IllegalTransition,
    OrderFacts,
    Status,
    apply_action,
    initial_status,
)

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def emergency() -> OrderFacts:
    return OrderFacts(category=Category.EMERGENCY, status=initial_status(Category.EMERGENCY))


def ticket() -> OrderFacts:
    return OrderFacts(category=Category.REPAIR, status=initial_status(Category.REPAIR))


def test_emergency_full_life() -> None:
    facts = emergency()
    assert facts.status is Status.OPEN
    steps = [
        (Action.ACK, {}, Status.ACKNOWLEDGED),
        (Action.DISPATCH, {"technician": "李师傅"}, Status.DISPATCHED),
        (Action.ARRIVE, {}, Status.ON_SITE),
        (Action.RESOLVE, {}, Status.RESOLVED),
        (Action.CLOSE, {}, Status.CLOSED),
    ]
    for i, (action, kw, expected) in enumerate(steps):
        facts = apply_action(facts, action, T0 + timedelta(minutes=i), **kw).facts
        assert facts.status is expected
    assert facts.acknowledged_at == T0
    assert facts.dispatched_at == T0 + timedelta(minutes=1)
    assert facts.arrived_at == T0 + timedelta(minutes=2)
    assert facts.assignee == "李师傅"
    assert facts.closed_at == T0 + timedelta(minutes=4)


def test_dispatch_from_open_also_acknowledges() -> None:
    outcome = apply_action(emergency(), Action.DISPATCH, T0, technician="张三")
    assert outcome.facts.status is Status.DISPATCHED
    assert outcome.facts.acknowledged_at == T0
    assert outcome.implied == ("ack",)


def test_input_facts_are_not_mutated() -> None:
    facts = emergency()
    apply_action(facts, Action.ACK, T0)
    assert facts.status is Status.OPEN
    assert facts.acknowledged_at is None


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (Status.OPEN, Action.ARRIVE),
        (Status.OPEN, Action.RESOLVE),
        (Status.ACKNOWLEDGED, Action.ACK),
        (Status.RESOLVED, Action.CANCEL),
        (Status.CLOSED, Action.ACK),
        (Status.CANCELLED, Action.DISPATCH),
    ],
)
def test_illegal_emergency_steps_say_why(status: Status, action: Action) -> None:
    facts = OrderFacts(category=Category.EMERGENCY, status=status)
    with pytest.raises(IllegalTransition) as err:
        apply_action(facts, action, T0, technician="x", reason="y")
    assert action.value in err.value.reason
    assert status.value in err.value.reason


def test_cancel_needs_a_reason() -> None:
    with pytest.raises(IllegalTransition, match="reason"):
        apply_action(emergency(), Action.CANCEL, T0, reason="  ")
    facts = apply_action(emergency(), Action.CANCEL, T0, reason="误报 false alarm").facts
    assert facts.status is Status.CANCELLED
    assert facts.cancel_reason == "误报 false alarm"


def test_dispatch_needs_a_technician() -> None:
    with pytest.raises(IllegalTransition, match="technician"):
        apply_action(emergency(), Action.DISPATCH, T0)


def test_ticket_life_with_reject_back_to_new() -> None:
    facts = ticket()
    assert facts.status is Status.NEW
    facts = apply_action(facts, Action.DISPATCH, T0, technician="王师傅").facts
    rejected = apply_action(facts, Action.REJECT, T0, reason="不在片区").facts
    assert rejected.status is Status.NEW
    assert rejected.assignee is None
    facts = apply_action(rejected, Action.DISPATCH, T0, technician="赵师傅").facts
    facts = apply_action(facts, Action.ACCEPT, T0).facts
    facts = apply_action(facts, Action.ARRIVE, T0).facts
    facts = apply_action(facts, Action.RESOLVE, T0).facts
    assert facts.status is Status.RESOLVED
    assert facts.assignee == "赵师傅"


def test_tickets_are_not_acknowledged() -> None:
    with pytest.raises(IllegalTransition, match="dispatch them"):
        apply_action(ticket(), Action.ACK, T0)
