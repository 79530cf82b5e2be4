"""Fail-safe ingest (DESIGN invariant 8): whose fault a failure is decides what happens to the
message. The message's fault: that message alone is dead-lettered, found in O(log n) tries, and an
alarm among such messages still opens a minimal order. The database's fault: nothing is
acknowledged or dead-lettered, health turns red, the on-call team is told without the database."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

import gateway.ingest_batch as ingest_batch
from device_adapters.events import DeviceEvent, EventKind
from gateway.ingest import Ingest, Received
from gateway.ingest_batch import BatchProcessor, BatchResult, Committed, StoreFailed, WorkerLost
from gateway.ingest_faults import Fault, classify
from gateway.metrics import Metrics
from gateway.storage.db import create_schema, make_engine, session
from gateway.storage.models import DeadLetter, EscalationStep, Order, TimelineEntry

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


class TopicDecoder:
    """Test double: the topic names the device; the payload names the kind; ``crash`` raises."""

    def decode(self, topic: str, payload: bytes, received_at: datetime, *, retained: bool = False) -> list[DeviceEvent]:
        if payload == b"crash":
            raise ZeroDivisionError("a decoder bug")
        return [DeviceEvent(device_id=topic[2:], kind=EventKind(payload.decode()), at=received_at, source="native")]


def item(device: str, kind: str = "sos") -> tuple[str, bytes, bool]:
    return (f"t/{device}", kind.encode(), False)


@pytest.fixture
def poisoned(monkeypatch: pytest.MonkeyPatch) -> None:
    """Our own code fails on one device's content (as float() once did on a 400-digit battery)."""
    real = ingest_batch.apply_events

    def apply_events(s: Any, events: list[DeviceEvent], *, now: datetime) -> Any:
        if any(e.device_id.startswith("poison") for e in events):
            raise OverflowError("int too large to convert to float")
        return real(s, events, now=now)

    monkeypatch.setattr(ingest_batch, "apply_events", apply_events)


def orders(engine: Engine) -> dict[str, Order]:
    with session(engine) as s:
        return {o.device_id: o for o in s.exec(select(Order))}


def dead_reasons(engine: Engine) -> list[str]:
    with session(engine) as s:
        return [d.reason for d in s.exec(select(DeadLetter))]


# --- whose fault ------------------------------------------------------------------------------


def _wrapped(orig: BaseException, cls: type[sa.exc.DBAPIError] = sa.exc.OperationalError) -> sa.exc.DBAPIError:
    return cls("INSERT ...", {}, orig)


@pytest.mark.parametrize(("exc", "fault"), [
    (_wrapped(sqlite3.OperationalError("no such table: escalation_steps")), Fault.DATABASE),
    (_wrapped(sqlite3.OperationalError("database is locked")), Fault.DATABASE),
    (_wrapped(sqlite3.OperationalError("attempt to write a readonly database")), Fault.DATABASE),
    (_wrapped(sqlite3.OperationalError("database or disk is full")), Fault.DATABASE),
    (_wrapped(sqlite3.OperationalError("table orders has no column named home_id")), Fault.DATABASE),
    (_wrapped(sqlite3.InterfaceError("Error binding parameter 1"), sa.exc.InterfaceError), Fault.MESSAGE),
    (_wrapped(sqlite3.DataError("string or blob too big"), sa.exc.DataError), Fault.MESSAGE),
    (sa.exc.TimeoutError("QueuePool limit reached"), Fault.DATABASE),
    (OSError(28, "No space left on device"), Fault.DATABASE),
    (MemoryError(), Fault.DATABASE),
    (OverflowError("int too large to convert to float"), Fault.MESSAGE),
    (KeyError("battery"), Fault.MESSAGE),
])
def test_whose_fault(exc: BaseException, fault: Fault) -> None:
    assert classify(exc) is fault


@pytest.mark.postgres
def test_whose_fault_on_postgresql(db_url: str) -> None:
    """Real PostgreSQL errors: a schema older than the code and a read-only database are the
    database's fault; a value too long or a NUL byte is the message's."""
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    engine = make_engine(db_url)
    try:
        def error(sql: str, params: dict[str, Any] | None = None) -> BaseException:
            with engine.connect() as conn, pytest.raises(Exception) as info:
                conn.execute(sa.text(sql), params or {})
            return info.value

        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (v varchar(4))"))
        assert classify(error("INSERT INTO missing VALUES (1)")) is Fault.DATABASE
        assert classify(error("INSERT INTO t VALUES ('toolong')")) is Fault.MESSAGE
        assert classify(error("INSERT INTO t VALUES (:v)", {"v": "a\x00b"})) is Fault.MESSAGE
        assert classify(error("SET TRANSACTION READ ONLY; INSERT INTO t VALUES ('x')")) is Fault.DATABASE
    finally:
        engine.dispose()


# --- the message's fault ----------------------------------------------------------------------


def test_one_poison_message_is_found_in_log_n_tries_and_the_rest_commit(engine: Engine, poisoned: None) -> None:
    processor = BatchProcessor(engine=engine, decoder=TopicDecoder(), clock=lambda: T0)
    items = [item(f"hb-{i}", "heartbeat") for i in range(100)]
    items[37] = item("poison-hb", "heartbeat")
    items[50] = item("elder-1", "sos")
    commits: list[Committed] = []
    result = processor.process(items, commits.append)
    assert sorted(i for c in commits for i in c.indexes) == list(range(100))  # every message answered for
    assert result.held == [] and result.deadletters == {"store_refused": 1}
    assert result.transactions <= 2 + 2 * 7 + 1  # alarm + halving 99 messages + the culprit's dead letter
    assert commits[0].indexes == [50]  # the alarm first
    assert dead_reasons(engine) == ["store_refused"]
    with session(engine) as s:
        [dead] = s.exec(select(DeadLetter))
    assert dead.topic == "t/poison-hb" and "OverflowError" in dead.detail


def test_an_alarm_that_cannot_be_stored_whole_opens_a_minimal_order(engine: Engine, poisoned: None) -> None:
    processor = BatchProcessor(engine=engine, decoder=TopicDecoder(), clock=lambda: T0)
    result = processor.process([item("poison-sos", "sos"), item("elder-2", "fall")], lambda c: None)
    assert result.minimal == 1 and result.opened == {"sos": 1, "fall": 1}
    found = orders(engine)
    assert found["poison-sos"].kind == "sos" and found["poison-sos"].priority == "P1"
    with session(engine) as s:
        [entry] = s.exec(select(TimelineEntry).where(TimelineEntry.order_id == found["poison-sos"].id))
        steps = s.exec(select(EscalationStep).where(EscalationStep.order_id == found["poison-sos"].id)).all()
    assert entry.note == "details could not be stored"
    assert entry.data["payload"] == "sos" and "OverflowError" in entry.data["error"]
    assert any(step.step == "raised" for step in steps)  # the on-call team is told, as for any SOS
    # the next press counts on it
    processor.process([item("poison-sos", "sos")], lambda c: None)
    assert orders(engine)["poison-sos"].event_count == 2


def test_a_decoder_that_raises_something_else_dead_letters_that_message_only(engine: Engine) -> None:
    processor = BatchProcessor(engine=engine, decoder=TopicDecoder(), clock=lambda: T0)
    result = processor.process([("t/a", b"crash", False), item("elder-3", "sos")], lambda c: None)
    assert result.deadletters == {"internal": 1} and result.opened == {"sos": 1}
    with session(engine) as s:
        [dead] = s.exec(select(DeadLetter))
    assert "ZeroDivisionError" in dead.detail


def test_a_message_that_cannot_be_stored_in_any_form_is_held_not_acknowledged(
        engine: Engine, poisoned: None, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*a: Any, **k: Any) -> Any:
        raise ValueError("not even minimally")

    monkeypatch.setattr(BatchProcessor, "_store_refused", refuse)
    ingest = RecordingIngest(engine)
    ingest._process_with_retry([msg(1, "poison-sos"), msg(2, "elder-4"), msg(3, "hb", "heartbeat")])
    assert sorted(ingest.acked) == [2, 3]  # the broker keeps message 1; the others went on
    assert ingest._metrics.held == 1 and ingest.db_ok
    assert sorted(orders(engine)) == ["elder-4"]


# --- the database's fault ---------------------------------------------------------------------


class RecordingIngest(Ingest):
    """Ingest with its batches fed by hand and its acknowledgements recorded (no broker)."""

    def __init__(self, engine: Engine | None = None, processor: Any = None) -> None:
        processor = processor or BatchProcessor(engine=engine, decoder=TopicDecoder(), clock=lambda: T0)
        self.health: list[tuple[bool, str]] = []
        super().__init__(mqtt_url="mqtt://127.0.0.1:1", client_id="t", processor=processor, topics=["t/#"],
                         metrics=Metrics(), on_health=lambda ok, why: self.health.append((ok, why)))
        self.acked: list[int] = []
        self.confirmed: list[tuple[str, str]] = []

    def _ack(self, batch: list[Received]) -> None:
        self.acked.extend(m.mid for m in batch)

    def _confirm(self, confirms: list[tuple[str, str]]) -> None:
        self.confirmed.extend(confirms)


def msg(mid: int, device: str, kind: str = "sos") -> Received:
    return Received(0, mid, 1, f"t/{device}", kind.encode(), False, time.monotonic())


def test_a_missing_table_is_the_databases_fault_nothing_acknowledged_nor_dead_lettered(engine: Engine) -> None:
    """Was: the SOS was dead-lettered as ``store_failed`` and acknowledged, with no order."""
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE escalation_steps"))
    ingest = RecordingIngest(engine)
    worker = threading.Thread(target=ingest._process_with_retry, args=([msg(1, "elder-5"), msg(2, "hb", "heartbeat")],))
    worker.start()
    deadline = time.monotonic() + 10
    while ingest._metrics.batch_failures < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ingest.acked == [] and not ingest.db_ok and "escalation_steps" in ingest.db_error
    assert ingest.health and ingest.health[0][0] is False
    assert dead_reasons(engine) == [] and orders(engine) == {}
    create_schema(engine)  # the upgrade ran: the table is back
    worker.join(15)
    assert sorted(ingest.acked) == [1, 2] and ingest.db_ok and ingest.health[-1] == (True, "")
    assert sorted(orders(engine)) == ["elder-5"] and dead_reasons(engine) == []


@pytest.mark.postgres
def test_a_read_only_postgresql_acknowledges_nothing(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    engine = make_engine(db_url)
    create_schema(engine)
    dbname = engine.url.database
    admin = make_engine(db_url)
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{dbname}" SET default_transaction_read_only = on'))
        engine.dispose()  # new connections take the setting
        processor = BatchProcessor(engine=engine, decoder=TopicDecoder(), clock=lambda: T0)
        with pytest.raises(StoreFailed, match="read-only"):
            processor.process([item("elder-6", "sos"), item("hb", "heartbeat")], lambda c: None)
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{dbname}" SET default_transaction_read_only = off'))
        engine.dispose()
        assert processor.process([item("elder-6", "sos")], lambda c: None).opened == {"sos": 1}
        assert dead_reasons(engine) == []
    finally:
        engine.dispose()
        admin.dispose()


# --- a worker that dies -------------------------------------------------------------------------


class DyingWorker:
    """A processor whose worker dies whenever its batch holds the ``poison`` message."""

    def __init__(self, engine: Engine) -> None:
        self.inner = BatchProcessor(engine=engine, decoder=TopicDecoder(), clock=lambda: T0)
        self.calls: list[int] = []
        self.dead: list[tuple[str, str]] = []

    def process(self, items: list[tuple[str, bytes, bool]], on_commit: Any = None) -> BatchResult:
        self.calls.append(len(items))
        if any(topic == "t/poison" for topic, _, _ in items):
            raise WorkerLost("ingest worker lost: EOFError()")
        return self.inner.process(items, on_commit)

    def dead_letter(self, it: tuple[str, bytes, bool], reason: str, detail: str) -> None:
        self.dead.append((it[0], reason))
        self.inner.dead_letter(it, reason, detail)


def test_a_message_that_kills_the_worker_is_found_by_halving(engine: Engine) -> None:
    worker = DyingWorker(engine)
    ingest = RecordingIngest(processor=worker)
    batch = [msg(i, f"hb-{i}", "heartbeat") for i in range(1, 1025)]
    batch[700] = msg(701, "poison", "heartbeat")
    batch[3] = msg(4, "elder-7", "sos")
    ingest._process_with_retry(batch)
    assert sorted(ingest.acked) == list(range(1, 1025))
    assert worker.dead == [("t/poison", "worker_crash")]
    assert len(worker.calls) <= 2 * 10 + 2  # halving 1,024 messages, then the culprit once more alone
    assert "elder-7" in orders(engine)


# --- edges get a confirmation of what is committed --------------------------------------------


def test_edge_events_are_confirmed_once_committed_or_dead_lettered(engine: Engine) -> None:
    from gateway.ingest_batch import BatchProcessor as Real

    processor = Real.for_gateway(engine=engine, z2m_base="zigbee2mqtt", max_payload=65536, clock=lambda: T0)
    ingest = RecordingIngest(processor=processor)
    ingest._process_with_retry([
        Received(0, 1, 1, "shewu/v1/edge/rx-1/elder-8/event", b'{"v":1,"id":"rx-1:1","kind":"sos"}', False, 0.0),
        Received(0, 2, 1, "shewu/v1/edge/rx-1/elder-8/event", b'{"v":1,"id":"rx-1:2","kind":"heartbeat"}', False, 0.0),
        Received(0, 3, 1, "shewu/v1/edge/rx-1/elder-8/event", b'{"v":2,"id":"rx-1:3","kind":"sos"}', False, 0.0),
        Received(0, 4, 1, "shewu/v1/elder-9/event", b'{"v":1,"id":"x","kind":"sos"}', False, 0.0),
    ])
    assert sorted(ingest.acked) == [1, 2, 3, 4]
    # the SOS first; the dead-lettered v2 message too (so the edge stops resending it); never a plain topic
    assert ingest.confirmed[0] == ("rx-1", "rx-1:1")
    assert sorted(ingest.confirmed) == [("rx-1", "rx-1:1"), ("rx-1", "rx-1:2"), ("rx-1", "rx-1:3")]


# --- an undecodable message that looks like an alarm still reaches a person ----------------------


@pytest.mark.parametrize(("payload", "kind"), [
    (b'{"action":"emergency","battery":1e400}', "sos"),  # a float no double holds (tests/fuzzing.py)
    (b'{"v":2,"id":"x","kind":"sos"}', "sos"),  # a native message of a version we do not read
    (b'{"water_leak":true,"battery":"\xff"}', "leak"),  # not UTF-8
    (b'{"smoke": true, "temperature": NaN}', "fire"),
    (b'{"status":"falling","x":', "fall"),  # cut short
    (b'{"carbon_monoxide":true,"battery":1e999}', "co"),
])
def test_what_an_undecodable_alarm_looks_like(payload: bytes, kind: str) -> None:
    from device_adapters.alarm_hint import alarm_kind

    found = alarm_kind(payload)
    assert found is not None and found.value == kind


@pytest.mark.parametrize("payload", [
    b'{"battery":1e400,"linkquality":80}', b'{"water_leak":false,"battery":1e400}', b'{"action":"single","x":1e400}',
    b'{"sos":false,"temperature":1e400}', b"\x00\x01\x02", b"",
])
def test_what_does_not_look_like_an_alarm(payload: bytes) -> None:
    from device_adapters.alarm_hint import alarm_kind

    assert alarm_kind(payload) is None


def test_an_undecodable_sos_is_dead_lettered_and_opens_a_minimal_order(engine: Engine) -> None:
    processor = BatchProcessor.for_gateway(engine=engine, z2m_base="zigbee2mqtt", max_payload=65536, clock=lambda: T0)
    commits: list[Committed] = []
    result = processor.process([
        ("zigbee2mqtt/3-101/sos", b'{"action":"emergency","battery":1e400}', False),
        ("zigbee2mqtt/3-102/th", b'{"temperature":1e400}', False),
        ("shewu/v1/edge/rx-9/elder-9/event", b'{"v":2,"id":"rx-9:7","kind":"sos"}', False),
    ], commits.append)
    assert sorted(i for c in commits for i in c.indexes) == [0, 1, 2]
    assert result.deadletters == {"bad_value": 2, "bad_version": 1} and result.minimal == 2
    found = orders(engine)
    assert sorted(found) == ["3-101/sos", "elder-9"]  # the topic's device
    assert {o.kind for o in found.values()} == {"sos"} and {o.priority for o in found.values()} == {"P1"}
    with session(engine) as s:
        entry = s.exec(select(TimelineEntry).where(TimelineEntry.order_id == found["elder-9"].id)).one()
    assert entry.note == "details could not be stored" and entry.data["error"].startswith("bad_version")
    assert ("rx-9", "rx-9:7") in result.confirms  # the edge may forget it: a person has it


def test_a_message_that_kills_the_worker_and_looks_like_an_sos_opens_a_minimal_order(engine: Engine) -> None:
    processor = BatchProcessor(engine=engine, decoder=TopicDecoder(), clock=lambda: T0)
    processor.dead_letter(("zigbee2mqtt/elder-10", b'{"action":"emergency"}', False), "worker_crash", "EOFError()")
    assert dead_reasons(engine) == ["worker_crash"]
    assert orders(engine)["elder-10"].kind == "sos"


def test_a_minimal_order_still_says_where_to_go_when_the_registry_knows_the_device(
        engine: Engine, poisoned: None) -> None:
    from gateway.storage import crud
    from gateway.storage.models import Device

    with session(engine) as s:
        crud.save_device(s, device=Device(device_id="poison-registered", model="SW-SOS-1", resident="王秀英",
                                          address="3栋2单元101", grid="g1"))
        s.commit()
    processor = BatchProcessor(engine=engine, decoder=TopicDecoder(), clock=lambda: T0)
    assert processor.process([item("poison-registered", "sos")], lambda c: None).minimal == 1
    order = orders(engine)["poison-registered"]
    assert (order.resident, order.address, order.grid, order.unregistered) == ("王秀英", "3栋2单元101", "g1", False)
