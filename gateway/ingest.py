"""The MQTT consumer: receive → (processor: decode → apply → commit) → acknowledge.

paho's network thread queues each message; a pump thread takes what is queued as one batch
and hands it to a ``Processor`` (gateway.ingest_batch; by default in a worker process of its
own, gateway.ingest_worker), then acknowledges what the processor reports committed.
Messages that raise an alarm are committed and acknowledged ahead of the rest of their batch
(MQTT 3.1.1 asks for PUBACKs in arrival order; brokers match them by packet id, so the only
effect of acknowledging an SOS before older heartbeats is on the broker's in-flight window).

A message is acknowledged to the broker only after the transaction that records its effect
has committed (DESIGN invariant 1): paho runs with ``manual_ack``, the session is persistent
(clean start off), and a batch that fails to commit is not acknowledged, so the broker
redelivers it. Acks are tagged with the connection they belong to: after a reconnect the
broker redelivers the unacknowledged messages itself, and a stale packet id must not
acknowledge a different message on the new connection.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from device_adapters.mqtt_socket import disable_nagle
from device_adapters.mqtt_url import parse_mqtt_url
from gateway.ingest_batch import Processor, StoreFailed
from gateway.metrics import Metrics

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600


class Received(NamedTuple):
    """One message as paho handed it over (a tuple: this is made for every message)."""

    generation: int
    mid: int
    qos: int
    topic: str
    payload: bytes
    retained: bool
    t_received: float  # time.monotonic()


LiveSink = Callable[[list[dict[str, Any]]], None]  # receives {"event", "order"} dicts after commit


class Ingest:
    def __init__(
        self,
        *,
        mqtt_url: str,
        client_id: str,
        processor: Processor,
        topics: list[str],
        metrics: Metrics,
        on_committed: LiveSink | None = None,
        shared_group: str = "",
        protocol: int = 5,
        batch_max: int = 2000,
    ) -> None:
        self._url = parse_mqtt_url(mqtt_url)
        self._processor = processor
        self._subscriptions = topics
        self._metrics = metrics
        self._on_committed = on_committed
        self._shared_group = shared_group
        self._protocol = protocol
        self._batch_max = batch_max
        self._queue: queue.SimpleQueue[Received] = queue.SimpleQueue()
        self._generation = 0
        self._stopping = threading.Event()
        self._pump = threading.Thread(target=self._work, name="shewu-ingest-pump", daemon=True)
        self.connected = threading.Event()
        self.db_ok = True
        v5 = protocol == 5
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        if self._url.username:
            self._client.username_pw_set(self._url.username, self._url.password)
        if self._url.tls:
            self._client.tls_set()
        disable_nagle(self._client)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        kwargs: dict[str, Any] = {"keepalive": 30}
        if self._protocol == 5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = SESSION_EXPIRY_S
            kwargs.update(clean_start=False, properties=props)
        self._client.connect_async(self._url.host, self._url.port, **kwargs)
        self._client.loop_start()
        self._pump.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._pump.is_alive():
            self._pump.join(timeout)
        self._client.disconnect()
        self._client.loop_stop()

    # --- paho callbacks (network thread) ----------------------------------------------------------

    def _topics(self) -> list[str]:
        topics = list(self._subscriptions)
        if self._shared_group:
            topics = [f"$share/{self._shared_group}/{t}" for t in topics]
        return topics

    def _on_connect(self, client: mqtt.Client, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            log.error("MQTT connect refused: %s", reason)
            return
        self._generation += 1
        if self._protocol == 5:
            client.subscribe([(t, SubscribeOptions(qos=1)) for t in self._topics()])
        else:
            client.subscribe([(t, 1) for t in self._topics()])
        self.connected.set()
        log.info("MQTT connected (session present: %s)", getattr(_flags, "session_present", "?"))

    def _on_disconnect(self, _c: Any, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
        self.connected.clear()
        if not self._stopping.is_set():
            log.warning("MQTT disconnected (%s); reconnecting", reason)

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            topic = repr(msg._topic)
        self._metrics.messages_received += 1  # only this thread writes it
        self._queue.put(
            Received(self._generation, msg.mid, msg.qos, topic, msg.payload, msg.retain, time.monotonic())
        )

    # --- pump --------------------------------------------------------------------------------------

    def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                first = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            batch = [first]
            while len(batch) < self._batch_max:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._process_with_retry(batch)

    def _process_with_retry(self, batch: list[Received]) -> None:
        """Commit the batch, or find out why not. A message the database refuses on its own
        (a poison message) is dead-lettered and acknowledged; while the database itself is
        down, nothing is acknowledged and the batch is retried with backoff."""
        delay = 0.2
        while not self._stopping.is_set():
            try:
                self._process(batch)
                self.db_ok = True
                return
            except StoreFailed as exc:
                self._metrics.record_failure()
                log.error("ingest batch of %d not committed (%s); isolating", len(batch), exc)
            if self._isolate(batch):
                self.db_ok = True
                return
            self.db_ok = False
            log.error("database unavailable; %d messages wait unacknowledged, retry in %.1fs", len(batch), delay)
            self._stopping.wait(delay)
            delay = min(delay * 2, 5.0)

    def _isolate(self, batch: list[Received]) -> bool:
        """Apply the messages one at a time and dead-letter only those that fail alone.
        Answers False when even a dead letter cannot be written: the database is down."""
        for i, item in enumerate(batch):
            try:
                self._process([item])
            except StoreFailed as exc:
                try:
                    self._processor.dead_letter((item.topic, item.payload, item.retained), "store_failed", str(exc))
                except StoreFailed:
                    del batch[:i]  # those before i are committed and acknowledged
                    return False
                self._ack([item])
                self._metrics.record_batch(messages=1, decoded=0, events=0, deadletters={"store_failed": 1},
                                           opened={}, repeats=0, ack_lags=[])
        return True

    def _process(self, batch: list[Received]) -> None:
        """Store a batch and acknowledge it. Messages that raise an alarm are committed and
        acknowledged first, and their orders shown, before the rest of the batch is stored."""
        early: set[int] = set()
        lags: list[float] = []
        shown = 0

        def alarms_committed(indexes: list[int], live: list[dict[str, Any]]) -> None:
            nonlocal shown
            self._ack([batch[i] for i in indexes])
            t = time.monotonic()
            lags.extend(t - batch[i].t_received for i in indexes)
            early.update(indexes)
            shown += len(live)
            if live and self._on_committed is not None:
                self._on_committed(live)

        try:
            result = self._processor.process([(m.topic, m.payload, m.retained) for m in batch], alarms_committed)
        except StoreFailed:
            batch[:] = [m for i, m in enumerate(batch) if i not in early]  # those are done: retry the rest
            raise
        rest = [m for i, m in enumerate(batch) if i not in early]
        self._ack(rest)
        t = time.monotonic()
        lags.extend(t - m.t_received for m in rest)
        self._metrics.record_batch(
            messages=result.messages,
            decoded=result.decoded,
            events=result.events,
            deadletters=result.deadletters,
            opened=result.opened,
            repeats=result.repeats,
            ack_lags=lags,
        )
        if result.telemetry:
            self._metrics.record_telemetry(result.telemetry)
        if len(result.live) > shown and self._on_committed is not None:
            self._on_committed(result.live[shown:])

    def _ack(self, batch: list[Received]) -> None:
        generation = self._generation
        for item in batch:
            if item.qos > 0 and item.generation == generation:
                self._client.ack(item.mid, item.qos)
