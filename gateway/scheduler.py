"""The scheduler: polls the timers that are rows (escalation steps) and fires those due.

Each poll is one transaction; on PostgreSQL due rows are claimed with FOR UPDATE SKIP LOCKED,
and a conditional update makes each step fire once even where two schedulers read the same
row (SQLite), so restarts and several gateway instances neither miss nor repeat a step.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from gateway.clock import Clock
from gateway.services.dispatch import OnAssigned
from gateway.services.escalation import Fired, OnStep, fire_due
from gateway.storage.db import session as open_session

log = logging.getLogger(__name__)

BATCH = 200


class Scheduler:
    def __init__(self, *, engine: Engine, clock: Clock, instance: str,
                 on_fired: Callable[[list[Fired]], None] | None = None, interval: float = 1.0,
                 on_step: OnStep | None = None, on_assigned: OnAssigned | None = None) -> None:
        self._on_step = on_step
        self._on_assigned = on_assigned
        self._engine = engine
        self._clock = clock
        self._instance = instance
        self._on_fired = on_fired
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shewu-scheduler", daemon=True)

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

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            while self.run_once()[1] >= BATCH and not self._stop.is_set():
                pass  # a backlog (after downtime): keep going without waiting

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
