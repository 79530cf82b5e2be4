"""The pruning job: what retention lets go is deleted a small batch at a time, from the
scheduler's thread after the timers (escalation steps go first), one short transaction per
batch and at most one batch per table per poll. A full round starts every ``every``; a table
with more to delete than one batch is taken up again at the next poll until it is done.

Every instance runs it; deleting is idempotent, and on PostgreSQL the instances skip each other's
locked rows (``gateway.storage.retention``)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from gateway.clock import Clock
from gateway.config import Settings
from gateway.domain.retention import Retention, cutoffs
from gateway.ingest_batch import SEEN_EVENTS_KEPT
from gateway.metrics import Metrics
from gateway.storage.retention import BATCH, TABLES, prune_batch

log = logging.getLogger(__name__)

PRUNE_EVERY = timedelta(minutes=10)


def retention_from(settings: Settings) -> Retention:
    return Retention(dead_letters=settings.retain_dead_letters_days,
                     notifications=settings.retain_notifications_days,
                     escalation_steps=settings.retain_escalation_steps_days,
                     api_tokens=settings.retain_tokens_days,
                     device_history=settings.retain_device_history_days)


class Pruner:
    def __init__(self, *, engine: Engine, clock: Clock, retention: Retention, metrics: Metrics | None = None,
                 batch: int = BATCH, every: timedelta = PRUNE_EVERY) -> None:
        self._engine = engine
        self._clock = clock
        self._retention = retention
        self._metrics = metrics
        self._batch = batch
        self._every = every
        self._round_at: datetime | None = None
        self._pending: set[str] = set()  # tables with (possibly) more to delete in this round
        if metrics is not None:
            for name in TABLES:  # every table on /metrics from the start, at 0
                metrics.record_pruned(name, 0)

    @property
    def busy(self) -> bool:
        """A round is under way: some table had a full batch at its last turn."""
        return bool(self._pending)

    def tick(self) -> dict[str, int]:
        """One batch for each table that has rows to go (a new round when one is due); answer
        the rows deleted by table."""
        now = self._clock()
        limits = cutoffs(self._retention, now=now, seen_events=SEEN_EVENTS_KEPT)
        if self._round_at is None or now - self._round_at >= self._every:
            self._round_at = now
            self._pending = set(limits)
        deleted: dict[str, int] = {}
        for name in sorted(self._pending):
            try:
                with self._engine.begin() as conn:
                    n = prune_batch(conn, name, before=limits[name], limit=self._batch)
            except SQLAlchemyError as exc:
                log.warning("pruning %s failed (%s); tried again at the next poll", name, exc)
                continue
            deleted[name] = n
            if n < self._batch:
                self._pending.discard(name)
            if n and self._metrics is not None:
                self._metrics.record_pruned(name, n)
        return deleted
