"""``NotifySender``: delivers the outbox in the background, away from the alarm path.

Each run claims due rows in one short transaction, then sends them outside any transaction on a
small thread pool, one job per channel (its rows in order, so one robot is not flooded and
messages keep their order), and records each job's outcomes in a short transaction of its own.
A channel with a job in flight is not claimed from again until the job ends, and the background
loop does not wait for jobs: a slow or dead channel delays only its own rows, never another
channel's, the scheduler or ingest. Failures go back to ``pending`` with a backoff, or to
``failed`` after the last attempt; every attempt's error is kept on the row.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from gateway.clock import Clock
from gateway.notify.backoff import DEFAULT_POLICY, RetryPolicy
from gateway.notify.outbox import Outgoing, claim_due, mark_failed, mark_retry, mark_sent, release
from gateway.notify.senders import ChannelDown, HttpSender, PermanentError, Publish, SendError, Transports, deliver
from gateway.storage.db import session as open_session

log = logging.getLogger(__name__)


class NotReached(Exception):
    """A row a job had no time left for (half its lease gone): given back untried."""


# (row, None) sent; (row, SendError) failed; (row, NotReached) given back.
Outcome = tuple[Outgoing, SendError | NotReached | None]


class NotifySender:
    def __init__(self, *, engine: Engine, clock: Clock, publish_mqtt: Publish | None = None,
                 http: HttpSender | None = None, interval: float = 1.0, instance: str = "shewu",
                 batch: int = 100, workers: int = 8, lease: timedelta = timedelta(minutes=2),
                 policy: RetryPolicy = DEFAULT_POLICY) -> None:
        self._engine = engine
        self._clock = clock
        self._own_http = http is None
        self._transports = Transports(http=http or HttpSender(), publish_mqtt=publish_mqtt)
        self._interval = interval
        self.instance = instance
        self._batch = batch
        self._lease = lease
        self._policy = policy
        # Without a publisher this instance leaves per-person MQTT rows to instances that have one.
        self._skip_kinds = () if publish_mqtt is not None else ("mqtt_user",)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="shewu-notify")
        self._lock = threading.Lock()
        self._busy: set[str] = set()  # channels with a job in flight
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shewu-notify-sender", daemon=True)
        # Counters for /metrics.
        self.sent = 0
        self.failed = 0
        self.retried = 0

    def run_once(self, *, wait_for_sends: bool = True) -> int:
        """Claim due rows and start sending them, one job per channel. Answers how many rows
        were claimed; with ``wait_for_sends`` (the default, for tests and tools) returns only
        once they are sent and their outcomes recorded."""
        with self._lock:
            busy = set(self._busy)
        try:
            with open_session(self._engine) as s:
                items = claim_due(s, now=self._clock(), limit=self._batch, lease=self._lease, instance=self.instance,
                                  skip_channels=busy, skip_kinds=self._skip_kinds)
                s.commit()
        except SQLAlchemyError as exc:
            log.error("notification claim failed (%s); the rows stay due and are retried", exc)
            return 0
        # Stop sending well before the lease ends, or another sender could take the rows and send them too.
        deadline = time.monotonic() + self._lease.total_seconds() / 2
        by_channel: dict[str, list[Outgoing]] = defaultdict(list)
        for item in items:
            by_channel[item.channel].append(item)
        jobs: list[Future[None]] = []
        for channel, rows in by_channel.items():
            with self._lock:
                self._busy.add(channel)
            jobs.append(self._pool.submit(self._job, channel, rows, deadline))
        if wait_for_sends:
            wait(jobs)
        return len(items)

    def wake(self) -> None:
        """Look for due rows now rather than at the next interval (e.g. after a commit that
        enqueued an alarm's notices)."""
        self._wake.set()

    def _job(self, channel: str, rows: list[Outgoing], deadline: float) -> None:
        try:
            self._record(self._send_all(rows, deadline))
        except Exception:  # a bug must not leave the channel busy for ever; the leases will run out
            log.exception("notification job for channel %s failed", channel)
        finally:
            with self._lock:
                self._busy.discard(channel)
            self.wake()  # the channel is free: its next rows (a backlog) go now, not at the next poll

    def _send_all(self, rows: list[Outgoing], deadline: float) -> list[Outcome]:
        outcomes: list[Outcome] = []
        down: ChannelDown | None = None
        for item in rows:
            if time.monotonic() > deadline:
                outcomes.append((item, NotReached()))
                continue
            if down is not None:
                outcomes.append((item, ChannelDown(f"not tried: {down}")))
                continue
            try:
                deliver(self._transports, item, self._clock())
                outcomes.append((item, None))
            except ChannelDown as exc:
                down = exc
                outcomes.append((item, exc))
            except SendError as exc:
                outcomes.append((item, exc))
            except Exception as exc:  # a sender bug: recorded on the row and retried like a failure
                log.exception("sending notification %s failed unexpectedly", item.id)
                outcomes.append((item, SendError(f"unexpected {type(exc).__name__}: {exc}")))
        return outcomes

    def _record(self, outcomes: list[Outcome]) -> None:
        """One short transaction for a job's outcomes. If it fails the rows stay ``sending`` and
        are claimed again when their lease ends (they may then be sent twice: at least once)."""
        now = self._clock()
        sent = failed = retried = 0
        try:
            with open_session(self._engine) as s:
                for item, error in outcomes:
                    if error is None:
                        sent += mark_sent(s, item=item, now=now)
                    elif isinstance(error, NotReached):
                        release(s, item=item, now=now)
                    elif isinstance(error, PermanentError):
                        failed += mark_failed(s, item=item, error=str(error), now=now)
                    else:
                        status = mark_retry(s, item=item, error=str(error), now=now, policy=self._policy)
                        failed += status == "failed"
                        retried += status == "pending"
                s.commit()
        except SQLAlchemyError as exc:
            log.error("recording %d notification outcomes failed (%s); they are retried after the lease",
                      len(outcomes), exc)
            return
        for item, error in outcomes:
            if isinstance(error, SendError):
                log.warning("notification %s to %s (attempt %d): %s", item.id, item.channel, item.attempt, error)
        with self._lock:
            self.sent += sent
            self.failed += failed
            self.retried += retried

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                while self.run_once(wait_for_sends=False) >= self._batch and not self._stop.is_set():
                    pass  # a backlog: keep claiming (busy channels are skipped) without waiting
            except Exception:
                log.exception("notification sender run failed")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop claiming, let the jobs in flight finish (each bounded by its timeouts)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(10)
        self._pool.shutdown(wait=True)
        if self._own_http:
            self._transports.http.close()
