"""An event id is applied once, even when its resend and its original reach two instances at the
same moment (found by bench/chaos.py: a home unit's resend and the original, on two gateways)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine

from gateway.storage import crud
from gateway.storage.db import session

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def test_a_claimed_id_is_fresh_once(engine: Engine) -> None:
    with session(engine) as s:
        assert crud.claim_event_ids(s, event_ids=["a", "b", "a"], at=T0) == {"a", "b"}
        s.commit()
    with session(engine) as s:
        assert crud.claim_event_ids(s, event_ids=["b", "c"], at=T0) == {"c"}
        s.commit()


@pytest.mark.postgres
def test_two_transactions_claiming_one_id_together_apply_it_once(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    first = session(engine)
    assert crud.claim_event_ids(first, event_ids=["x"], at=T0) == {"x"}  # not committed yet
    result: list[set[str]] = []

    def second() -> None:
        with session(engine) as s:
            result.append(crud.claim_event_ids(s, event_ids=["x"], at=T0))  # waits for the first
            s.commit()

    t = threading.Thread(target=second)
    t.start()
    t.join(0.5)
    assert t.is_alive()  # blocked on the first transaction's row
    first.commit()
    first.close()
    t.join(10)
    assert result == [set()]
