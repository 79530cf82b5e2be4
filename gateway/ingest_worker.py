"""The batch processor in a process of its own.

paho's network thread and the decode/store work compete for one GIL in one process, and
under load the receiving side starves (bench/ingest_throughput.py, bench/alarm_latency.py).
Here decode → apply → commit runs in a child process on another core; the gateway process
only receives, forwards batches over a pipe, and acknowledges what the child has committed.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from multiprocessing.connection import Connection
from typing import Any

from gateway.ingest_batch import BatchResult, Item, OnCommit, StoreFailed, WorkerLost

log = logging.getLogger(__name__)


def _serve(conn: Connection, db_url: str, z2m_base: str, max_payload: int,
           influx: tuple[str, str, str, str] = ("", "", "", ""), rtl433_base: str = "") -> None:
    from gateway.clock import utc_now
    from gateway.ingest_batch import BatchProcessor
    from gateway.storage.db import make_engine

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s ingest-worker: %(message)s")
    engine = make_engine(db_url)
    telemetry = None
    if influx[0]:
        from gateway.telemetry.writer import make_writer

        telemetry = make_writer(*influx)
    processor = BatchProcessor.for_gateway(engine=engine, z2m_base=z2m_base, max_payload=max_payload, clock=utc_now,
                                           telemetry=telemetry, rtl433_base=rtl433_base)
    conn.send(("ready", None))
    while True:
        try:
            op, args = conn.recv()
        except (EOFError, OSError):
            break  # the gateway is gone
        try:
            if op == "process":
                reply: Any = processor.process(args, lambda committed: conn.send(("committed", committed)))
            else:
                reply = processor.dead_letter(*args)
            conn.send(("ok", reply))
        except StoreFailed as exc:
            conn.send(("failed", str(exc)))
        except Exception as exc:  # a bug outside any one message's handling: as if the worker died
            log.exception("ingest worker failed on a batch")
            conn.send(("lost", f"{type(exc).__name__}: {exc}"[:900]))
    if telemetry is not None:
        telemetry.stop(5.0)
    engine.dispose()


class ProcessorProcess:
    """A ``Processor`` whose work happens in a child process. Calls come from one thread."""

    def __init__(self, *, db_url: str, z2m_base: str, max_payload: int, reply_timeout: float = 120.0,
                 influx: tuple[str, str, str, str] = ("", "", "", ""), rtl433_base: str = "") -> None:
        self._args = (db_url, z2m_base, max_payload, influx, rtl433_base)
        # A worker that says nothing for this long is taken as hung: killed and replaced, and
        # the batch is not acknowledged, so the broker delivers it again.
        self._reply_timeout = reply_timeout
        self._ctx = multiprocessing.get_context("spawn")
        self._conn: Connection | None = None
        self._proc: Any = None
        self._lock = threading.Lock()

    def start(self, timeout: float = 60.0) -> None:
        parent, child = self._ctx.Pipe()
        self._proc = self._ctx.Process(target=_serve, args=(child, *self._args), name="shewu-ingest-worker",
                                       daemon=True)
        self._proc.start()
        child.close()
        if not parent.poll(timeout):
            raise RuntimeError("ingest worker did not start")
        parent.recv()
        self._conn = parent

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            self._proc.join(10)
            if self._proc.is_alive():
                self._proc.kill()
            self._proc = None

    def _call(self, op: str, args: Any, on_commit: OnCommit | None = None) -> Any:
        with self._lock:
            try:
                if self._conn is None:
                    self.start()
                assert self._conn is not None
                self._conn.send((op, args))
                status, reply = self._recv()
                while status == "committed":  # each transaction as it commits (alarms first)
                    if on_commit is not None:
                        on_commit(reply)
                    status, reply = self._recv()
            except TimeoutError as exc:
                # Hung, not dead: more likely the database (a lock, a stalled disk) than a message,
                # so the batch is kept whole and tried again on a fresh worker.
                log.error("ingest worker hung (%s); starting a new one", exc)
                if self._proc is not None:
                    self._proc.kill()  # do not wait for it
                self.stop()
                raise StoreFailed(f"ingest worker hung: {exc}") from exc
            except (EOFError, OSError, RuntimeError) as exc:
                log.error("ingest worker lost (%s); starting a new one", exc)
                self.stop()
                raise WorkerLost(f"ingest worker lost: {exc!r}") from exc
        if status == "failed":
            raise StoreFailed(reply)
        if status == "lost":
            raise WorkerLost(reply)
        return reply

    def _recv(self) -> tuple[str, Any]:
        assert self._conn is not None
        if not self._conn.poll(self._reply_timeout):
            raise TimeoutError(f"no answer in {self._reply_timeout:g} s")
        message: tuple[str, Any] = self._conn.recv()
        return message

    def process(self, items: list[Item], on_commit: OnCommit | None = None) -> BatchResult:
        result: BatchResult = self._call("process", items, on_commit)
        return result

    def dead_letter(self, item: Item, reason: str, detail: str) -> None:
        self._call("dead_letter", (item, reason, detail))
