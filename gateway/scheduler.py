"""The scheduler: polls the timers that are rows (escalation steps, device deadlines) and acts
on those due; then, with what time is left, the pruning job (``gateway.retention``).

Each poll is one transaction; on PostgreSQL due rows are claimed with FOR UPDATE SKIP LOCKED,
and a conditional update makes each step fire once even where two schedulers read the same
row (SQLite), so restarts and several gateway instances neither miss nor repeat a step.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from gateway.clock import Clock
from gateway.retention import Pruner
from gateway.services.care import generate_due
from gateway.services.dispatch import OnAssigned
from gateway.services.escalation import Fired, OnStep, fire_due
from gateway.services.events import live_changes
from gateway.services.inactivity import poll as watch_homes
from gateway.services.supervision import Findings, poll
from gateway.storage.db import session as open_session

log = logging.getLogger(__name__)

BATCH = 200
SUPERVISION_BATCH = 2000
INACTIVITY_EVERY = timedelta(minutes=1)  # homes checked for silence, care plans for visits due: once a minute


class Scheduler:
    def __init__(self, *, engine: Engine, clock: Clock, instance: str,
                 on_fired: Callable[[list[Fired]], None] | None = None, interval: float = 1.0,
                 on_step: OnStep | None = None, on_assigned: OnAssigned | None = None,
                 on_changes: Callable[[list[dict[str, Any]]], None] | None = None,
                 supervision_limit: int = SUPERVISION_BATCH, zone: ZoneInfo | None = None,
                 pruner: Pruner | None = None) -> None:
        self._pruner = pruner  # retention: after the timers, one small batch per table per poll
        self._zone = zone or ZoneInfo("Asia/Shanghai")
        self._started = clock()  # supervision does not blame devices for this gateway's downtime
        self._inactivity_at: datetime | None = None
        self._on_changes = on_changes
        self._supervision_limit = supervision_limit
        self._on_step = on_step
        self._on_assigned = on_assigned
        self._engine = engine
        self._clock = clock
        self._instance = instance
        self._on_fired = on_fired
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shewu-scheduler", daemon=True)
        self.last_poll: float | None = None  # time.monotonic() of the last complete poll

    def run_once(self) -> tuple[list[Fired], int]:
        """One poll: fire what is due now and commit. Answers what fired and how many steps
        were due (fired or void)."""
        try:
            with open_session(self._engine) as s:
                fired, taken = fire_due(s, now=self._clock(), instance=self._instance, limit=BATCH,
                                        on_step=self._on_step, on_assigned=self._on_assigned)
                s.commit()
        except SQLAlchemyError as exc:
            log.error("scheduler poll failed (%s); the steps stay pending and are retried", exc)
            return [], 0
        if fired and self._on_fired is not None:
            self._on_fired(fired)
        return fired, taken

    def supervise(self) -> Findings:
        """One supervision pass (device deadlines, offline, back online, power), committed;
        the orders it opened or noted on go to ``on_changes`` for the boards."""
        try:
            with open_session(self._engine) as s:
                now = self._clock()
                found = poll(s, now=now, limit=self._supervision_limit, up_since=self._started)
                changes = list(found.changes)
                if self._inactivity_at is None or now - self._inactivity_at >= INACTIVITY_EVERY:
                    self._inactivity_at = now
                    changes += watch_homes(s, now=now, tz=self._zone).changes
                    care = generate_due(s, now=now, tz=self._zone, on_assigned=self._on_assigned)
                    changes += care.changes
                live = live_changes(s, changes, now) if changes else []
                s.commit()
        except SQLAlchemyError as exc:
            log.error("supervision poll failed (%s); it is retried", exc)
            return Findings()
        if live and self._on_changes is not None:
            self._on_changes(live)
        return found

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                while self.run_once()[1] >= BATCH and not self._stop.is_set():
                    pass  # a backlog (after downtime): keep going without waiting
                while (f := self.supervise()).checked + f.enrolled >= self._supervision_limit \
                        and not self._stop.is_set():
                    pass  # a backlog: many devices enrolled or due at once
                if self._pruner is not None:
                    self._pruner.tick()
                self.last_poll = time.monotonic()
            except Exception:  # a bug must not stop the timers for good: log it, poll again
                log.exception("scheduler poll failed unexpectedly")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
