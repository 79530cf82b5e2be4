"""One ingest batch: decode → apply → commit, and what the batch did. No MQTT here.

``BatchProcessor`` runs in the gateway process (tests, ``--ingest-worker thread``) or in a
worker process of its own (``gateway.ingest_worker``), behind the same two methods.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.engine import Engine

from device_adapters.alarm_hint import alarm_kind, device_of_topic
from device_adapters.decoder import MessageDecoder
from device_adapters.events import DecodeError, DeviceEvent
from device_adapters.native import edge_of_topic
from gateway.clock import Clock
from gateway.ingest_faults import Fault, classify
from gateway.registry_models import RegistryModels
from gateway.services.events import (
    OrderChange,
    alarm_rules,
    apply_events,
    is_alarm,
    live_changes,
    open_minimal_order,
    safe_device_id,
    safe_text,
)
from gateway.storage import crud
from gateway.storage.db import session as open_session

if TYPE_CHECKING:
    from gateway.telemetry.writer import TelemetryWriter

Item = tuple[str, bytes, bool]  # topic, payload, retained

# Event ids are kept long enough to catch any redelivery: the broker keeps an offline
# gateway's session (and its unacknowledged messages) for 7 days.
SEEN_EVENTS_KEPT = timedelta(days=8)
PRUNE_EVERY = timedelta(hours=1)

log = logging.getLogger(__name__)


class StoreFailed(Exception):
    """The database (or the process) did not take the batch: not the messages' fault. Nothing
    of it was committed except what was already reported through ``on_commit``."""


class WorkerLost(StoreFailed):
    """The ingest worker process died while it held the batch (perhaps because of a message)."""


@dataclass(slots=True)
class Committed:
    """One committed transaction: the batch indexes it covers (acknowledge them), the live
    messages of its order changes (show them), and the (edge, event id) pairs to confirm."""

    indexes: list[int]
    live: list[dict[str, Any]]
    confirms: list[tuple[str, str]]


@dataclass(slots=True)
class BatchResult:
    messages: int = 0
    decoded: int = 0
    events: int = 0
    deadletters: dict[str, int] = field(default_factory=dict)
    opened: dict[str, int] = field(default_factory=dict)
    repeats: int = 0
    # {"event", "order"} after commit (also those already reported through ``on_commit``)
    live: list[dict[str, Any]] = field(default_factory=list)
    # the telemetry writer's counter deltas and queue gauge (gateway.telemetry.writer), if on
    telemetry: dict[str, int] = field(default_factory=dict)
    # Messages whose effect could not be stored in any form (not even a dead letter or a minimal
    # alarm): they must not be acknowledged; the broker keeps them.
    held: list[int] = field(default_factory=list)
    minimal: int = 0  # alarms stored minimally (device, kind, raw payload) after their details failed
    transactions: int = 0  # how many commits were tried (a poison message costs O(log n) more)
    confirms: list[tuple[str, str]] = field(default_factory=list)  # (edge, event id) committed


OnCommit = Callable[[Committed], None]


class Processor(Protocol):
    def process(self, items: list[Item], on_commit: OnCommit | None = None) -> BatchResult: ...

    def dead_letter(self, item: Item, reason: str, detail: str) -> None: ...


class Decoder(Protocol):
    def decode(self, topic: str, payload: bytes, received_at: Any, *, retained: bool = False) -> list[DeviceEvent]: ...


@dataclass(slots=True)
class _Entry:
    """One decoded message of the batch."""

    index: int
    events: list[DeviceEvent]
    confirms: list[tuple[str, str]]


_LOOSE_ID = re.compile(rb'"id"\s*:\s*"([A-Za-z0-9_.:@/-]{1,128})"')


def _confirm_of_undecodable(topic: str, payload: bytes) -> list[tuple[str, str]]:
    """An edge's message that did not decode is dead-lettered, which is its committed effect:
    confirm its id if one can be read, so the edge stops sending it."""
    edge = edge_of_topic(topic)
    if edge is None:
        return []
    match = _LOOSE_ID.search(payload[:4096])
    return [(edge, match.group(1).decode())] if match else []


class BatchProcessor:
    def __init__(self, *, engine: Engine, decoder: Decoder | MessageDecoder, clock: Clock,
                 max_payload: int = 65536, models: RegistryModels | None = None,
                 telemetry: TelemetryWriter | None = None, z2m_base: str = "zigbee2mqtt") -> None:
        self._telemetry = telemetry  # off the alarm path: offer() never waits
        self._z2m_base = z2m_base
        self._engine = engine
        self._decoder = decoder
        self._clock = clock
        self._max_payload = max_payload
        self._models = models  # the registry's device models, which ``decoder`` looks up
        self._pruned_at: datetime | None = None

    @classmethod
    def for_gateway(cls, *, engine: Engine, z2m_base: str, max_payload: int, clock: Clock,
                    telemetry: TelemetryWriter | None = None, rtl433_base: str = "") -> BatchProcessor:
        """The real thing: message decoders that know the registry's device models."""
        models = RegistryModels(engine)
        decoder = MessageDecoder(z2m_base=z2m_base, max_payload=max_payload, model_lookup=models.model_of,
                                 kind_lookup=models.kind_of, rtl433_base=rtl433_base or None)
        return cls(engine=engine, decoder=decoder, clock=clock, max_payload=max_payload, models=models,
                   telemetry=telemetry, z2m_base=z2m_base)

    def _dead_row(self, item: Item, reason: str, detail: str, now: Any) -> dict[str, Any]:
        topic, payload, _ = item
        return {
            "received_at": now,
            "topic": safe_text(topic, 1024),  # a dead letter must be storable whatever the message held
            "reason": safe_text(reason, 64),
            "detail": safe_text(detail, 1000),
            "payload": payload[: self._max_payload],
            "payload_size": len(payload),
        }

    def process(self, items: list[Item], on_commit: OnCommit | None = None) -> BatchResult:
        """Decode and store a batch. With ``on_commit``, the messages that raise or touch an
        order are committed first, in a transaction of their own, and every commit is reported
        through ``on_commit`` as it happens, so an SOS does not wait for the heartbeats around it.
        Without it, the batch is one transaction.

        A failure of one message (its decoding, its values, our code on its content) never takes
        the batch with it: the failed transaction is split in halves until the culprit stands
        alone, and only it is dead-lettered; an alarm among the culprits still opens a minimal
        order. A failure of the database raises :class:`StoreFailed` (acknowledge nothing more).
        """
        try:
            if self._models is not None:
                self._models.refresh_if_stale()
        except Exception as exc:
            if classify(exc) is Fault.DATABASE:
                raise StoreFailed(_describe(exc)) from exc
            log.exception("registry models could not be refreshed; decoding with the ones known")
        now = self._clock()
        result = BatchResult(messages=len(items))
        urgent: list[_Entry] = []
        routine: list[_Entry] = []
        dead: list[dict[str, Any]] = []
        dead_entries: list[_Entry] = []
        looks_like_alarms: list[tuple[_Entry, str, str]] = []
        reasons: Counter[str] = Counter()
        decode = self._decoder.decode
        for i, item in enumerate(items):
            topic, payload, retained = item
            try:
                decoded = decode(topic, payload, now, retained=retained)
            except DecodeError as err:
                reason, detail = err.reason, err.detail
            except Exception as err:  # a decoder is meant to raise DecodeError only: the message's fault all the same
                log.exception("decoder failed on a message of %r", topic[:200])
                reason, detail = "internal", _describe(err)
            else:
                result.decoded += 1
                edge = edge_of_topic(topic)
                confirms = [(edge, e.event_id) for e in decoded if e.event_id] if edge else []
                entry = _Entry(i, decoded, confirms)
                (urgent if on_commit is not None and any(is_alarm(e.kind) for e in decoded) else routine).append(entry)
                continue
            hinted = self._alarm_hint(topic, payload, now)
            if hinted is not None:  # undecodable, but it looks like an alarm: a person must see it
                looks_like_alarms.append((_Entry(i, [hinted], _confirm_of_undecodable(topic, payload)), reason,
                                          detail))
                continue
            dead.append(self._dead_row(item, reason, detail, now))
            dead_entries.append(_Entry(i, [], _confirm_of_undecodable(topic, payload)))
            reasons[reason] += 1
        changes: list[OrderChange] = []
        committed: list[DeviceEvent] = []
        run = _Run(self, items, now, result, changes, committed, reasons, on_commit)
        if urgent:
            run.commit(urgent, [], [])
        for entry, reason, detail in looks_like_alarms:
            run.refused(entry, reason, f"{reason}: {detail}")
        run.commit(routine, dead, dead_entries)
        if self._telemetry is not None:  # after the commits: a batch that fails is offered on redelivery
            self._telemetry.offer(committed)
            result.telemetry = self._telemetry.take_deltas()
        result.events = len(committed)
        result.deadletters = dict(reasons)
        result.opened = dict(Counter(m["order"]["kind"] for m in result.live if m["event"] == "opened"))
        result.repeats = sum(1 for c in changes if c.event == "repeat")
        return result

    def _store(self, events: list[DeviceEvent], dead: list[dict[str, Any]], now: datetime
               ) -> tuple[list[dict[str, Any]], list[OrderChange]]:
        """One transaction: apply ``events``, keep ``dead``; answer the live messages and changes.
        Raises whatever failed, for the caller to classify."""
        with open_session(self._engine) as s:
            done = apply_events(s, events, now=now) if events else []
            crud.add_dead_letters(s, rows=dead)
            if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
                crud.prune_seen_events(s, before=now - SEEN_EVENTS_KEPT)
            live = live_changes(s, done, now) if done else []
            s.commit()
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
        return live, done

    def _store_refused(self, item: Item, events: list[DeviceEvent], error: str, now: datetime,
                       reason: str = "store_refused") -> tuple[list[dict[str, Any]], list[OrderChange], int]:
        """The message failed alone: keep it as a dead letter, and open a minimal order for each
        alarm it carried. Answers (live, changes, minimal orders); raises whatever failed."""
        with open_session(self._engine) as s:
            crud.add_dead_letters(s, rows=[self._dead_row(item, reason, error, now)])
            done = [open_minimal_order(s, event=e, rule=r, payload=item[1], error=error, now=now)
                    for e, r in alarm_rules(events)]
            live = live_changes(s, done, now) if done else []
            s.commit()
        return live, done, len(done)

    def _alarm_hint(self, topic: str, payload: bytes, now: datetime) -> DeviceEvent | None:
        """The alarm an undecodable message looks like, as an event of the device its topic names."""
        kind = alarm_kind(payload)
        if kind is None:
            return None
        return DeviceEvent(device_id=safe_device_id(device_of_topic(topic, self._z2m_base)), kind=kind, at=now,
                           source="undecoded")

    def dead_letter(self, item: Item, reason: str, detail: str) -> None:
        """Keep a message no decoder may touch (it killed the worker); if it looks like an alarm,
        open a minimal order for it too."""
        now = self._clock()
        hinted = self._alarm_hint(item[0], item[1], now)
        try:
            if hinted is not None:
                self._store_refused(item, [hinted], f"{reason}: {detail}", now, reason)
                return
            with open_session(self._engine) as s:
                crud.add_dead_letters(s, rows=[self._dead_row(item, reason, detail, now)])
                s.commit()
        except Exception as exc:
            raise StoreFailed(_describe(exc)) from exc


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:900]


class _Run:
    """Commits of one batch: split a failing transaction until the failing message stands alone."""

    def __init__(self, processor: BatchProcessor, items: list[Item], now: datetime, result: BatchResult,
                 changes: list[OrderChange], committed: list[DeviceEvent], reasons: Counter[str],
                 on_commit: OnCommit | None) -> None:
        self.p = processor
        self.items = items
        self.now = now
        self.result = result
        self.changes = changes
        self.committed = committed
        self.reasons = reasons
        self.on_commit = on_commit

    def commit(self, entries: list[_Entry], dead: list[dict[str, Any]], dead_entries: list[_Entry]) -> None:
        if not entries and not dead:
            return
        events = [e for entry in entries for e in entry.events]
        self.result.transactions += 1
        try:
            live, done = self.p._store(events, dead, self.now)
        except Exception as exc:
            if classify(exc) is Fault.DATABASE:
                raise StoreFailed(_describe(exc)) from exc
            if dead and entries:  # the dead letters are made safe to store: try them apart
                self.commit([], dead, dead_entries)
                self.commit(entries, [], [])
            elif len(entries) > 1:
                mid = len(entries) // 2
                self.commit(entries[:mid], [], [])
                self.commit(entries[mid:], [], [])
            elif entries:
                self._alone(entries[0], exc)
            else:
                raise StoreFailed(f"dead letters not stored: {_describe(exc)}") from exc
            return
        self.committed.extend(events)
        self._done([*dead_entries, *entries], live, done)

    def _alone(self, entry: _Entry, exc: BaseException) -> None:
        error = _describe(exc)
        log.error("message on %r not stored (%s); dead-lettered", self.items[entry.index][0][:200], error)
        self.refused(entry, "store_refused", error)

    def refused(self, entry: _Entry, reason: str, error: str) -> None:
        """Dead-letter one message with ``reason``, opening a minimal order for its alarms."""
        item = self.items[entry.index]
        self.result.transactions += 1
        try:
            live, done, minimal = self.p._store_refused(item, entry.events, error, self.now, reason)
        except Exception as again:
            if classify(again) is Fault.DATABASE:
                raise StoreFailed(_describe(again)) from again
            # Not even a dead letter or a minimal order: do not acknowledge it (the broker keeps
            # it and delivers it again on the next connection); the rest of the batch goes on.
            log.critical("message on %r could not be stored in any form (%s); not acknowledged",
                         item[0][:200], _describe(again))
            self.result.held.append(entry.index)
            return
        self.reasons[reason] += 1
        self.result.minimal += minimal
        self._done([entry], live, done)

    def _done(self, entries: list[_Entry], live: list[dict[str, Any]], done: list[OrderChange]) -> None:
        self.changes.extend(done)
        self.result.live.extend(live)
        confirms = [c for entry in entries for c in entry.confirms]
        self.result.confirms.extend(confirms)
        if self.on_commit is not None:
            self.on_commit(Committed([entry.index for entry in entries], live, confirms))


class SerializedProcessor:
    """A processor several ingest clients may share (this instance's, and one adopting a dead
    peer's session): one batch at a time, as the worker process does by itself."""

    def __init__(self, inner: BatchProcessor) -> None:
        self._inner = inner
        self._lock = threading.Lock()

    def process(self, items: list[Item], on_commit: OnCommit | None = None) -> BatchResult:
        with self._lock:
            return self._inner.process(items, on_commit)

    def dead_letter(self, item: Item, reason: str, detail: str) -> None:
        with self._lock:
            self._inner.dead_letter(item, reason, detail)
