"""The telemetry writer: device events to InfluxDB, off the alarm path.

``offer(events)`` puts events on a bounded in-memory queue and returns at once; it never waits
for the network. A thread of the writer's own takes them off in batches, turns them into line
protocol (:mod:`gateway.telemetry.points`) and writes each batch with influxdb-client's
*synchronous* write API, so there is exactly one request in flight and every outcome is seen
here. (influxdb-client's batching ``WriteApi`` keeps its own unbounded buffer and retries inside
its scheduler; a bounded queue in front of a synchronous write is simpler to reason about.)

While InfluxDB is slow or away:

- the batch being written is retried with exponential backoff (``retry_interval`` doubling up to
  ``max_retry_delay``, with jitter; a ``Retry-After`` the server sends is honoured up to that cap)
  on connection errors, timeouts, HTTP 408, 429 and 5xx. A batch still failing after
  ``max_retry_time`` seconds is given up (its events counted as dropped), so a batch the server
  can never take does not hold telemetry up for ever;
- the queue keeps the **oldest** events, up to ``queue_size``, and the **newest** are dropped
  (counted) when it is full: ``offer`` does no more than an append under a short lock, and what
  was kept is a continuous record up to the outage. The device's current state (last seen,
  battery) is in SQL anyway; telemetry is history.

Other HTTP 4xx answers (bad token 401, unknown bucket 404, a batch the server will not parse)
are not retried: the batch is counted as rejected and the log says why (at most once a minute).

Counters (all in device events; one event becomes one ``device_event`` point and maybe one
``device_reading`` point), read them with :meth:`TelemetryWriter.counts` or, as increments since
the previous call, :meth:`TelemetryWriter.take_deltas`:

- ``written``: events whose points InfluxDB accepted;
- ``dropped``: events given up without an answer from InfluxDB: the queue was full, a batch failed
  for longer than ``max_retry_time``, or they were still queued when the writer stopped;
- ``rejected``: events in batches InfluxDB refused (4xx, not retried);
- ``failed_batches``: write requests that failed (each retry counts);
- ``queued``: a gauge: events waiting, including the batch being retried.

Every offered event ends up in exactly one of ``written``, ``dropped``, ``rejected`` or ``queued``.

The writer holds no global state: create one per process (the ingest worker process makes its
own) and stop it on the way out.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException

from device_adapters.events import DeviceEvent
from gateway.telemetry.points import points_for

log = logging.getLogger(__name__)

COUNTERS = ("written", "dropped", "rejected", "failed_batches")
LOG_EVERY = 60.0  # seconds between two log lines about the same trouble


def _retryable(exc: BaseException) -> bool:
    """Worth trying again: no answer (connection refused, timeout), or 408/429/5xx."""
    if isinstance(exc, ApiException):
        status = exc.status or 0
        return status == 0 or status in (408, 429) or status >= 500
    return True


def _retry_after(exc: BaseException) -> float | None:
    value = getattr(exc, "retry_after", None)
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None  # an HTTP date: use our own backoff


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ApiException):
        body = exc.body if isinstance(exc.body, str) else ""
        return f"HTTP {exc.status} {exc.reason or ''} {body[:300]}".strip()
    return f"{type(exc).__name__}: {str(exc)[:300]}"


class TelemetryWriter:
    """Device events to InfluxDB (or anything that takes ``/api/v2/write``), never blocking.

    ``url``: e.g. ``http://influxdb:8086``; ``token``, ``org``, ``bucket`` as InfluxDB 2 wants
    them (an empty token sends no authorization). ``queue_size`` bounds the events kept in memory
    (plus one batch being written); ``batch_size`` events are written per request, and a partial
    batch waits at most ``flush_interval`` seconds. ``timeout`` is the HTTP timeout per request.
    """

    def __init__(self, url: str, token: str, org: str, bucket: str, *, queue_size: int = 10_000,
                 batch_size: int = 500, flush_interval: float = 1.0, timeout: float = 10.0,
                 retry_interval: float = 0.5, max_retry_delay: float = 30.0, max_retry_time: float = 600.0,
                 name: str = "shewu-telemetry") -> None:
        if not url:
            raise ValueError("the InfluxDB URL is empty")
        if not bucket:
            raise ValueError("the InfluxDB bucket is empty")
        if queue_size < 1 or batch_size < 1:
            raise ValueError("queue_size and batch_size must be at least 1")
        self.url = url
        self._org = org
        self._bucket = bucket
        self._capacity = queue_size
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._retry_interval = retry_interval
        self._max_retry_delay = max_retry_delay
        self._max_retry_time = max_retry_time
        self._client = InfluxDBClient(url=url, token=token or None, org=org or None, timeout=int(timeout * 1000))
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)
        self._queue: deque[DeviceEvent] = deque()
        self._pending = 0  # events taken off the queue, being written
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._closed = False
        self._stop_deadline = 0.0
        self._counts = dict.fromkeys(COUNTERS, 0)
        self._reported = dict.fromkeys(COUNTERS, 0)
        self._logged: dict[str, float] = {}
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    # -- the caller's side ---------------------------------------------------------------------

    def start(self) -> TelemetryWriter:
        self._thread.start()
        return self

    def offer(self, events: Sequence[DeviceEvent]) -> None:
        """Queue ``events`` for writing. Never waits for I/O: what does not fit is dropped."""
        n = len(events)
        if not n:
            return
        with self._lock:
            if self._closed:
                self._counts["dropped"] += n
                return
            room = self._capacity - len(self._queue)
            if room >= n:
                self._queue.extend(events)
            else:
                if room > 0:
                    self._queue.extend(events[:room])
                self._counts["dropped"] += n - max(room, 0)
            if len(self._queue) >= self._batch_size:
                self._ready.notify()

    @property
    def written(self) -> int:
        return self._counts["written"]

    @property
    def dropped(self) -> int:
        return self._counts["dropped"]

    @property
    def rejected(self) -> int:
        return self._counts["rejected"]

    @property
    def failed_batches(self) -> int:
        return self._counts["failed_batches"]

    @property
    def queued(self) -> int:
        with self._lock:
            return len(self._queue) + self._pending

    def counts(self) -> dict[str, int]:
        """The counters since the writer was made, and the ``queued`` gauge, all at one instant."""
        with self._lock:
            return {**self._counts, "queued": len(self._queue) + self._pending}

    def take_deltas(self) -> dict[str, int]:
        """How much each counter grew since the previous call, and the ``queued`` gauge (as is).

        For a process that reports to another: the deltas add up there, and a restarted process
        (whose counters start again at 0) does not make a counter go backwards.
        """
        with self._lock:
            deltas = {k: self._counts[k] - self._reported[k] for k in COUNTERS}
            self._reported = dict(self._counts)
            deltas["queued"] = len(self._queue) + self._pending
            return deltas

    def stop(self, timeout: float = 5.0) -> None:
        """Write what is queued, for at most ``timeout`` seconds (no retries then); count the
        rest as dropped; close the client. Later offers are dropped (and counted)."""
        with self._lock:
            self._closed = True
            self._stop_deadline = time.monotonic() + timeout
            self._stopping.set()
            self._ready.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout + 1.0)
            if self._thread.is_alive():
                log.warning("telemetry writer still waiting for InfluxDB after %.1f s; leaving it", timeout)
                return  # a daemon thread, stuck in a request; it counts and closes when it returns
        else:
            self._drop_all()
            self._close_client()

    def __enter__(self) -> TelemetryWriter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the writer's thread -------------------------------------------------------------------

    def _take(self) -> list[DeviceEvent]:
        """The next batch: wait until a batch is full, ``flush_interval`` passed, or stopping."""
        with self._ready:
            if not self._stopping.is_set() and len(self._queue) < self._batch_size:
                self._ready.wait(self._flush_interval)
            n = min(self._batch_size, len(self._queue))
            batch = [self._queue.popleft() for _ in range(n)]
            self._pending = n
            return batch

    def _run(self) -> None:
        failures = 0  # consecutive failed requests: the backoff grows with them
        try:
            while True:
                batch = self._take()
                if not batch:
                    if self._stopping.is_set():
                        return
                    continue
                failures = self._write(batch, failures)
                if self._stopping.is_set() and time.monotonic() >= self._stop_deadline:
                    return
        except Exception:  # a bug here must not go unseen, nor take the process down
            log.exception("telemetry writer failed; telemetry is no longer written")
        finally:
            with self._lock:
                self._closed = True  # nobody takes from the queue any more: later offers are dropped
            self._drop_all()
            self._close_client()

    def _write(self, batch: list[DeviceEvent], failures: int) -> int:
        """Write one batch until it is written, refused, or given up. Answers ``failures``."""
        n = len(batch)
        try:
            body = "\n".join(points_for(batch)).encode("utf-8")
        except Exception as exc:  # an event points.py cannot turn into a line: a bug, but not fatal
            log.exception("telemetry: cannot make points of a batch")
            self._settle(n, "rejected", f"points: {exc}")
            return failures
        first_failure: float | None = None
        while True:
            try:
                self._write_api.write(bucket=self._bucket, org=self._org or None, record=body,
                                      write_precision=WritePrecision.MS)
            except Exception as exc:
                with self._lock:
                    self._counts["failed_batches"] += 1
                if not _retryable(exc):
                    self._settle(n, "rejected", _describe(exc))
                    return 0  # the server answered: no backoff for the next batch
                failures += 1
                now = time.monotonic()
                first_failure = first_failure if first_failure is not None else now
                if self._stopping.is_set():
                    self._settle(n, "dropped", None)
                    return failures
                if now - first_failure >= self._max_retry_time:
                    self._settle(n, "dropped", None)
                    self._log_once("gave_up", logging.WARNING,
                                   "telemetry: gave up a batch of %d events after %.0f s: %s",
                                   n, now - first_failure, _describe(exc))
                    return failures
                if failures == 1:
                    log.warning("telemetry: cannot write to %s (%s); retrying with backoff", self.url, _describe(exc))
                delay = min(self._retry_interval * 2 ** min(failures - 1, 30), self._max_retry_delay)
                delay *= random.uniform(0.5, 1.0)
                after = _retry_after(exc)
                if after is not None:
                    delay = min(max(delay, after), self._max_retry_delay)
                # Woken by stop(): one more try if the deadline allows, and no more waiting.
                if self._stopping.wait(delay) and time.monotonic() >= self._stop_deadline:
                    self._settle(n, "dropped", None)
                    return failures
                continue
            if failures:
                log.info("telemetry: writing to %s again after %d failed request(s)", self.url, failures)
            self._settle(n, "written", None)
            return 0

    def _settle(self, n: int, outcome: str, why: str | None) -> None:
        with self._lock:
            self._counts[outcome] += n
            self._pending = 0
        if outcome == "rejected":
            self._log_once("rejected", logging.ERROR, "telemetry: %s refused a batch of %d events: %s",
                           self.url, n, why)

    def _log_once(self, key: str, level: int, msg: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._logged.get(key, -LOG_EVERY) >= LOG_EVERY:
            self._logged[key] = now
            log.log(level, msg, *args)

    def _drop_all(self) -> None:
        with self._lock:
            self._counts["dropped"] += len(self._queue) + self._pending
            self._queue.clear()
            self._pending = 0

    def _close_client(self) -> None:
        try:
            self._write_api.close()
            self._client.close()
        except Exception:  # closing is best effort
            log.debug("telemetry: closing the InfluxDB client failed", exc_info=True)


def make_writer(url: str, token: str, org: str, bucket: str, **options: Any) -> TelemetryWriter | None:
    """A started writer, or None when ``url`` is empty (telemetry is off)."""
    if not url:
        return None
    return TelemetryWriter(url, token, org, bucket, **options).start()
