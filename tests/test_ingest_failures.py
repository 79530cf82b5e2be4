"""Ingest when the database refuses: a poison message is dead-lettered alone, and while the
database is down nothing is acknowledged. No broker needed: batches are fed directly."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from device_adapters.events import DeviceEvent, EventKind
from gateway.ingest import Ingest, Received
from gateway.ingest_batch import BatchProcessor
from gateway.live import LiveHub
from gateway.metrics import Metrics
from gateway.storage.db import create_schema, make_engine, session
from gateway.storage.models import DeadLetter, Order, TimelineEntry

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


class TopicDecoder:
    """Test double: the topic names the device; the payload names the kind."""

    def subscriptions(self) -> list[str]:
        return ["t/#"]

    def decode(self, topic: str, payload: bytes, received_at: datetime, *, retained: bool = False) -> list[DeviceEvent]:
        return [DeviceEvent(device_id=topic[2:], kind=EventKind(payload.decode()), at=received_at, source="native")]


class RecordingIngest(Ingest):
    """Ingest with its batches fed by hand and its acknowledgements recorded (no broker)."""

    def __init__(self, engine: Engine) -> None:
        processor = BatchProcessor(engine=engine, decoder=TopicDecoder(), clock=lambda: T0)
        super().__init__(mqtt_url="mqtt://127.0.0.1:1", client_id="t", processor=processor, topics=["t/#"],
                         metrics=Metrics())
        self.acked: list[int] = []

    def _ack(self, batch: list[Received]) -> None:
        self.acked.extend(item.mid for item in batch)


def msg(mid: int, device: str, kind: str = "sos") -> Received:
    return Received(0, mid, 1, f"t/{device}", kind.encode(), False, time.monotonic())


@pytest.mark.postgres
def test_a_poison_message_alone_is_dead_lettered_and_the_rest_go_on(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not enforce column lengths")
    ingest = RecordingIngest(engine)
    too_long = "x" * 300  # longer than the device_id column
    ingest._process_with_retry([msg(1, too_long)])
    ingest._process_with_retry([msg(2, "ok-1"), msg(3, too_long), msg(4, "ok-2")])
    assert ingest.acked == [1, 2, 3, 4]
    with session(engine) as s:
        orders = {o.device_id: o for o in s.exec(select(Order))}
        dead = s.exec(select(DeadLetter)).all()
        notes = [t.note for t in s.exec(select(TimelineEntry).where(TimelineEntry.order_id == orders["x" * 128].id))]
    # the SOS whose device id the schema refuses still opens an order, minimally, and counts its repeat
    assert sorted(orders) == ["ok-1", "ok-2", "x" * 128]
    assert orders["x" * 128].event_count == 2 and orders["x" * 128].unregistered
    assert notes == ["details could not be stored", "details could not be stored"]
    assert [d.reason for d in dead] == ["store_refused", "store_refused"]
    assert ingest.db_ok


def test_while_the_database_is_down_nothing_is_acknowledged() -> None:
    engine = make_engine("postgresql://nobody@127.0.0.1:1/none")  # nothing listens there
    ingest = RecordingIngest(engine)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (ingest._process_with_retry([msg(1, "a"), msg(2, "b")]), done.set()))
    worker.start()
    deadline = time.monotonic() + 10
    while ingest._metrics.batch_failures < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ingest._metrics.batch_failures >= 2  # it keeps retrying
    assert not ingest.db_ok and ingest.acked == [] and not done.is_set()
    ingest._stopping.set()
    worker.join(10)
    assert ingest.acked == []


def test_database_back_after_an_outage_commits_and_acks(db_url: str) -> None:
    engine = make_engine(db_url)
    ingest = RecordingIngest(engine)  # no schema yet: every statement fails, like a database that is down
    worker = threading.Thread(target=ingest._process_with_retry, args=([msg(1, "late-1"), msg(2, "late-2")],))
    worker.start()
    deadline = time.monotonic() + 10
    while ingest._metrics.batch_failures < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ingest.acked == []
    create_schema(engine)  # the database is back
    worker.join(15)
    assert ingest.acked == [1, 2]
    with session(engine) as s:
        assert sorted(o.device_id for o in s.exec(select(Order))) == ["late-1", "late-2"]
    engine.dispose()


async def test_a_board_that_falls_behind_is_closed_so_it_resyncs() -> None:
    hub = LiveHub()
    hub.bind(asyncio.get_running_loop())
    slow = hub.subscribe()
    fast = hub.subscribe()
    for i in range(2100):  # more than a client's queue holds
        hub.publish({"n": i})
        if i % 100 == 0:
            await asyncio.sleep(0)
            while not fast.empty():
                fast.get_nowait()
    await asyncio.sleep(0)
    assert hub.client_count == 1  # the slow one was dropped
    items = []
    while not slow.empty():
        items.append(slow.get_nowait())
    assert items[-1] is None  # and told to close


def test_worker_process_commits_and_reports_like_the_thread(tmp_path: pytest.TempPathFactory) -> None:
    """The default ingest worker runs the same processor in a child process."""
    from gateway.ingest_batch import StoreFailed
    from gateway.ingest_worker import ProcessorProcess

    url = f"sqlite:///{tmp_path}/w.db"  # type: ignore[operator]
    engine = make_engine(url)
    create_schema(engine)
    worker = ProcessorProcess(db_url=url, z2m_base="zigbee2mqtt", max_payload=1024)
    worker.start()
    try:
        result = worker.process([
            ("zigbee2mqtt/elder-1-sos", b'{"action":"emergency"}', False),
            ("shewu/v1/d/event", b"not json", False),
        ])
        assert (result.messages, result.decoded, result.opened, result.deadletters) == \
            (2, 1, {"sos": 1}, {"not_json": 1})
        assert result.live[0]["order"]["device_id"] == "elder-1-sos"
        with session(engine) as s:
            assert [o.device_id for o in s.exec(select(Order))] == ["elder-1-sos"]
        worker._proc.kill()  # the worker dies: the next call says so, then a new one takes over
        worker._proc.join()
        with pytest.raises(StoreFailed):
            worker.process([("zigbee2mqtt/elder-2-sos", b'{"action":"emergency"}', False)])
        assert worker.process([("zigbee2mqtt/elder-2-sos", b'{"action":"emergency"}', False)]).opened == {"sos": 1}
    finally:
        worker.stop()
        engine.dispose()


def test_a_hung_worker_is_replaced(tmp_path: pytest.TempPathFactory) -> None:
    """A worker that stops answering is killed after the reply timeout; the batch is not
    acknowledged (StoreFailed), and a fresh worker takes the redelivery."""
    import os
    import signal

    from gateway.ingest_batch import StoreFailed
    from gateway.ingest_worker import ProcessorProcess

    url = f"sqlite:///{tmp_path}/h.db"  # type: ignore[operator]
    engine = make_engine(url)
    create_schema(engine)
    worker = ProcessorProcess(db_url=url, z2m_base="zigbee2mqtt", max_payload=1024, reply_timeout=1.0)
    worker.start()
    try:
        hung = worker._proc
        os.kill(hung.pid, signal.SIGSTOP)
        with pytest.raises(StoreFailed, match="no answer"):
            worker.process([("zigbee2mqtt/elder-3-sos", b'{"action":"emergency"}', False)])
        hung.join(5)
        assert not hung.is_alive()
        assert worker.process([("zigbee2mqtt/elder-3-sos", b'{"action":"emergency"}', False)]).opened == {"sos": 1}
        with session(engine) as s:
            assert [o.device_id for o in s.exec(select(Order))] == ["elder-3-sos"]
    finally:
        worker.stop()
        engine.dispose()


def test_alarms_are_acknowledged_ahead_of_their_batch(engine: Engine) -> None:
    ingest = RecordingIngest(engine)
    ingest._process_with_retry([msg(1, "hb-1", "heartbeat"), msg(2, "elder-1", "sos"), msg(3, "hb-2", "heartbeat")])
    assert ingest.acked == [2, 1, 3]
