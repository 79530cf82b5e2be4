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

import contextlib
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

from device_adapters.mqtt_client import disable_nagle, parse_mqtt_url
from device_adapters.native import confirm_topic, encode_confirm
from gateway.ingest_batch import Committed, Processor, StoreFailed, WorkerLost
from gateway.metrics import Metrics
from gateway.peers import OFFLINE, ONLINE, presence_topic

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600
CONFIRM_CHUNK = 500  # event ids per confirmation message
SESSION_TAKEN_OVER = 142  # MQTT 5 DISCONNECT reason: another client connected with this client id


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
        on_health: Callable[[bool, str], None] | None = None,
        presence: bool = False,
        adopted: bool = False,
    ) -> None:
        self._url = parse_mqtt_url(mqtt_url)
        self._client_id = client_id
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
        self.db_error = ""  # why the last batch could not be stored, while db_ok is False
        self._on_health = on_health
        # presence: announce this instance (retained, with a will) so that a peer adopts its session
        # if it dies (gateway.peers); adopted: this client holds a dead peer's session until the
        # broker hands it back ("session taken over"), then stops for good
        self._presence = presence_topic(client_id) if presence and not adopted else None
        self._adopted = adopted
        self.released = False
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
        if self._presence is not None:
            self._client.will_set(self._presence, OFFLINE, qos=1, retain=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        # Reconnect fast: after a broker restart that lost its state, what is published before the
        # gateway subscribes again is dropped (Shewu's own edges resend it; Zigbee2MQTT does not).
        self._client.reconnect_delay_set(min_delay=0.1, max_delay=2)  # type: ignore[arg-type]

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
        if self._presence is not None and self.connected.is_set():  # a clean stop sends no will
            info = self._client.publish(self._presence, OFFLINE, qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(2.0)
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
        if self._presence is not None:
            client.publish(self._presence, ONLINE, qos=1, retain=True)
        log.info("MQTT connected as %s (session present: %s)", self._client_id,
                 getattr(_flags, "session_present", "?"))

    def _on_disconnect(self, _c: Any, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
        self.connected.clear()
        if self._adopted and getattr(reason, "value", None) == SESSION_TAKEN_OVER:
            log.info("gateway instance %s took its MQTT session back", self._client_id)
            self.released = True
            threading.Thread(target=self.stop, name="shewu-ingest-release", daemon=True).start()
            return
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
        """Commit the batch, or keep it. A message that fails on its own is dead-lettered by the
        processor (an alarm among them still opens a minimal order); a failure of the database or
        the process acknowledges nothing: the batch is retried with backoff while /healthz is red
        and the on-call team is told (``on_health``)."""
        delay = 0.2
        while not self._stopping.is_set():
            try:
                self._process(batch)
            except StoreFailed as exc:
                self._metrics.record_failure()
                self.db_ok, self.db_error = False, str(exc)[:300]
                log.error("database unavailable (%s); %d messages wait unacknowledged, retry in %.1fs",
                          exc, len(batch), delay)
                self._health(False, str(exc))
                self._stopping.wait(delay)
                delay = min(delay * 2, 1.0)  # back within a second of the database
                continue
            self.db_ok, self.db_error = True, ""
            self._health(True, "")
            return

    def _health(self, ok: bool, reason: str) -> None:
        if self._on_health is not None:
            try:
                self._on_health(ok, reason)
            except Exception:
                log.exception("health callback failed")

    def _process(self, batch: list[Received]) -> None:
        """Store a batch; acknowledge, show and confirm each part as it commits (alarms first).
        On StoreFailed ``batch`` is left holding only what is not committed."""
        done: set[int] = set()  # id() of the messages committed (or given up on)
        try:
            self._process_part(list(batch), done)
        finally:
            batch[:] = [m for m in batch if id(m) not in done]

    def _process_part(self, part: list[Received], done: set[int]) -> None:
        lags: list[float] = []

        def on_commit(c: Committed) -> None:
            items = [part[i] for i in c.indexes]
            self._ack(items)
            done.update(id(m) for m in items)
            t = time.monotonic()
            lags.extend(t - m.t_received for m in items)
            if c.live and self._on_committed is not None:
                self._on_committed(c.live)
            if c.confirms:
                self._confirm(c.confirms)

        try:
            result = self._processor.process([(m.topic, m.payload, m.retained) for m in part], on_commit)
        except WorkerLost as exc:
            self._metrics.record_failure()
            self._split(part, done, exc)
            return
        if result.held:
            self._metrics.record_held(len(result.held))
            done.update(id(part[i]) for i in result.held)  # not acknowledged: the broker keeps them
        self._metrics.record_batch(
            messages=result.messages,
            decoded=result.decoded,
            events=result.events,
            deadletters=result.deadletters,
            opened=result.opened,
            repeats=result.repeats,
            ack_lags=lags,
            minimal=result.minimal,
        )
        if result.telemetry:
            self._metrics.record_telemetry(result.telemetry)

    def _split(self, part: list[Received], done: set[int], exc: WorkerLost) -> None:
        """The worker died on this part: find the message that kills it by halving the part
        (O(log n) tries, each committing its alarms first), not by replaying each alone."""
        rest = [m for m in part if id(m) not in done]
        if len(rest) > 1:
            log.error("ingest worker died on %d messages (%s); splitting to find the cause", len(rest), exc)
            mid = len(rest) // 2
            self._process_part(rest[:mid], done)
            self._process_part(rest[mid:], done)
            return
        if not rest:
            return
        [m] = rest
        try:  # once more alone: a worker killed from outside is not the message's fault
            self._process_part_once(m, done)
            return
        except WorkerLost:
            pass
        log.critical("message on %r kills the ingest worker; dead-lettered", m.topic[:200])
        self._processor.dead_letter((m.topic, m.payload, m.retained), "worker_crash", str(exc)[:900])
        self._ack([m])
        done.add(id(m))
        self._metrics.record_batch(messages=1, decoded=0, events=0, deadletters={"worker_crash": 1},
                                   opened={}, repeats=0, ack_lags=[])

    def _process_part_once(self, m: Received, done: set[int]) -> None:
        def on_commit(c: Committed) -> None:
            self._ack([m])
            done.add(id(m))
            if c.live and self._on_committed is not None:
                self._on_committed(c.live)
            if c.confirms:
                self._confirm(c.confirms)

        result = self._processor.process([(m.topic, m.payload, m.retained)], on_commit)
        if result.held:
            done.add(id(m))
        self._metrics.record_batch(messages=1, decoded=result.decoded, events=result.events,
                                   deadletters=result.deadletters, opened=result.opened, repeats=result.repeats,
                                   ack_lags=[], minimal=result.minimal)

    def _confirm(self, confirms: list[tuple[str, str]]) -> None:
        """Tell each of Shewu's own edges which of its events are committed (QoS 1): it keeps
        them in its outbox until then, since a broker can lose what it acknowledged."""
        by_edge: dict[str, list[str]] = {}
        for edge, event_id in confirms:
            by_edge.setdefault(edge, []).append(event_id)
        for edge, ids in by_edge.items():
            for i in range(0, len(ids), CONFIRM_CHUNK):
                self._client.publish(confirm_topic(edge), encode_confirm(ids[i:i + CONFIRM_CHUNK]), qos=1)

    def _ack(self, batch: list[Received]) -> None:
        generation = self._generation
        for item in batch:
            if item.qos > 0 and item.generation == generation:
                self._client.ack(item.mid, item.qos)
