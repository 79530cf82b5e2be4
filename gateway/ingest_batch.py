"""One ingest batch: decode → apply → commit, and what the batch did. No MQTT here.

``BatchProcessor`` runs in the gateway process (tests, ``--ingest-worker thread``) or in a
worker process of its own (``gateway.ingest_worker``), behind the same two methods.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from device_adapters.decoder import MessageDecoder
from device_adapters.events import DecodeError, DeviceEvent
from gateway.clock import Clock
from gateway.registry_models import RegistryModels
from gateway.services.events import OrderChange, apply_events, is_alarm, live_changes
from gateway.storage import crud
from gateway.storage.db import session as open_session

if TYPE_CHECKING:
    from gateway.telemetry.writer import TelemetryWriter

Item = tuple[str, bytes, bool]  # topic, payload, retained

# Event ids are kept long enough to catch any redelivery: the broker keeps an offline
# gateway's session (and its unacknowledged messages) for 7 days.
SEEN_EVENTS_KEPT = timedelta(days=8)
PRUNE_EVERY = timedelta(hours=1)


class StoreFailed(Exception):
    """The database did not take the batch; nothing of it was committed."""


@dataclass(slots=True)
class BatchResult:
    messages: int = 0
    decoded: int = 0
    events: int = 0
    deadletters: dict[str, int] = field(default_factory=dict)
    opened: dict[str, int] = field(default_factory=dict)
    repeats: int = 0
    # {"event", "order"} after commit; those already reported through ``on_alarms`` come first
    live: list[dict[str, Any]] = field(default_factory=list)
    # the telemetry writer's counter deltas and queue gauge (gateway.telemetry.writer), if on
    telemetry: dict[str, int] = field(default_factory=dict)


AlarmsCommitted = Callable[[list[int], list[dict[str, Any]]], None]


class Processor(Protocol):
    def process(self, items: list[Item], on_alarms: AlarmsCommitted | None = None) -> BatchResult: ...

    def dead_letter(self, item: Item, reason: str, detail: str) -> None: ...


class Decoder(Protocol):
    def decode(self, topic: str, payload: bytes, received_at: Any, *, retained: bool = False) -> list[DeviceEvent]: ...


class BatchProcessor:
    def __init__(self, *, engine: Engine, decoder: Decoder | MessageDecoder, clock: Clock,
                 max_payload: int = 65536, models: RegistryModels | None = None,
                 telemetry: TelemetryWriter | None = None) -> None:
        self._telemetry = telemetry  # off the alarm path: offer() never waits
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
                                 rtl433_base=rtl433_base or None)
        return cls(engine=engine, decoder=decoder, clock=clock, max_payload=max_payload, models=models,
                   telemetry=telemetry)

    def _dead_row(self, item: Item, reason: str, detail: str, now: Any) -> dict[str, Any]:
        topic, payload, _ = item
        return {
            "received_at": now,
            "topic": topic[:1024],
            "reason": reason,
            "detail": detail[:1000],
            "payload": payload[: self._max_payload],
            "payload_size": len(payload),
        }

    def process(self, items: list[Item], on_alarms: AlarmsCommitted | None = None) -> BatchResult:
        """Decode and store a batch. With ``on_alarms``, the messages that raise or touch an
        order are committed first, in a transaction of their own, and reported through
        ``on_alarms(their indexes, their live changes)`` before the rest of the batch (the
        telemetry) is stored: an SOS does not wait for the heartbeats around it."""
        if self._models is not None:
            self._models.refresh_if_stale()
        now = self._clock()
        result = BatchResult(messages=len(items))
        urgent: list[DeviceEvent] = []
        urgent_items: list[int] = []
        routine: list[DeviceEvent] = []
        dead: list[dict[str, Any]] = []
        reasons: Counter[str] = Counter()
        decode = self._decoder.decode
        for i, item in enumerate(items):
            topic, payload, retained = item
            try:
                decoded = decode(topic, payload, now, retained=retained)
            except DecodeError as err:
                dead.append(self._dead_row(item, err.reason, err.detail, now))
                reasons[err.reason] += 1
                continue
            result.decoded += 1
            if on_alarms is not None and any(is_alarm(e.kind) for e in decoded):
                urgent.extend(decoded)
                urgent_items.append(i)
            else:
                routine.extend(decoded)
        changes: list[OrderChange] = []
        if urgent:
            live = self._store(urgent, [], now, changes)
            result.live.extend(live)
            assert on_alarms is not None
            on_alarms(urgent_items, live)
        result.live.extend(self._store(routine, dead, now, changes))
        if self._telemetry is not None:  # after both commits: a batch that fails is offered on redelivery
            self._telemetry.offer([*urgent, *routine])
            result.telemetry = self._telemetry.take_deltas()
        result.events = len(urgent) + len(routine)
        result.deadletters = dict(reasons)
        result.opened = dict(Counter(m["order"]["kind"] for m in result.live if m["event"] == "opened"))
        result.repeats = sum(1 for c in changes if c.event == "repeat")
        return result

    def _store(self, events: list[DeviceEvent], dead: list[dict[str, Any]], now: datetime,
               changes: list[OrderChange]) -> list[dict[str, Any]]:
        """One transaction: apply ``events``, keep ``dead``; answer the live messages."""
        try:
            with open_session(self._engine) as s:
                done = apply_events(s, events, now=now) if events else []
                crud.add_dead_letters(s, rows=dead)
                if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
                    crud.prune_seen_events(s, before=now - SEEN_EVENTS_KEPT)
                    self._pruned_at = now
                live = live_changes(s, done, now) if done else []
                s.commit()
        except SQLAlchemyError as exc:
            raise StoreFailed(str(exc)[:900]) from exc
        changes.extend(done)
        return live

    def dead_letter(self, item: Item, reason: str, detail: str) -> None:
        try:
            with open_session(self._engine) as s:
                crud.add_dead_letters(s, rows=[self._dead_row(item, reason, detail, self._clock())])
                s.commit()
        except SQLAlchemyError as exc:
            raise StoreFailed(str(exc)[:900]) from exc

