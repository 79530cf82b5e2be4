"""The load generator the benchmarks use, as a library.

``run_load`` publishes heartbeats from a pool of devices (half on the native topic, half as
Zigbee2MQTT state JSON, QoS 1) at a target rate, plus optional SOS alarms at their own rate from
unique devices (``bench-sos-<n>``), and records when each alarm was published so a benchmark can
measure SOS publish → order latency.

One paho client does it all: unlimited in-flight window and queue, its network loop in a thread,
the calling thread pacing publishes in small bursts against ``time.perf_counter``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from device_adapters.events import EventKind
from device_adapters.native import encode_native
from firmware_sim.encoding import Message, z2m_json
from firmware_sim.raw_publisher import RawPublisher
from firmware_sim.transport import MqttPublisher, new_client_id

AlarmCallback = Callable[[str, int], object]


@dataclass(slots=True)
class LoadResult:
    """What was sent. Rates are messages per second over the publishing phase.

    ``alarm_publish_ns`` maps each alarm's device id to ``time.time_ns()`` just before its publish
    (wall clock, comparable with timestamps other processes record); ``alarm_publish_perf_ns``
    the same instants on ``time.perf_counter_ns()``; ``perf_to_wall_ns`` converts one to the other
    (``wall = perf + perf_to_wall_ns``).
    """

    target_rate: float
    duration_s: float  # publishing phase, wall time
    heartbeats: int = 0
    alarms: int = 0
    acked: int = 0
    drain_s: float = 0.0  # after the last publish, until the broker acknowledged everything
    all_acked: bool = False
    alarm_publish_ns: dict[str, int] = field(default_factory=dict)
    alarm_publish_perf_ns: dict[str, int] = field(default_factory=dict)
    perf_to_wall_ns: int = 0
    cpu_s: float = 0.0  # this process's CPU time (all threads) while publishing and draining

    @property
    def sent(self) -> int:
        return self.heartbeats + self.alarms

    @property
    def achieved_rate(self) -> float:
        return self.sent / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def acked_rate(self) -> float:
        total = self.duration_s + self.drain_s
        return self.acked / total if total > 0 else 0.0

    def summary(self) -> str:
        return (
            f"sent {self.sent} messages ({self.heartbeats} heartbeats, {self.alarms} SOS alarms) in "
            f"{self.duration_s:.2f} s: {self.achieved_rate:.0f} msg/s (target {self.target_rate:.0f}); "
            f"broker acknowledged {self.acked} ({'all' if self.all_acked else 'NOT all'}) "
            f"{self.drain_s:.2f} s after the last publish; CPU {self.cpu_s:.2f} s"
        )


class HeartbeatPool:
    """Heartbeat messages from ``devices`` devices, round robin; every ``z2m_every``-th device
    speaks Zigbee2MQTT, the others the native topic. Each native message has a unique id."""

    def __init__(
        self,
        devices: int,
        *,
        z2m_base: str = "zigbee2mqtt",
        z2m_every: int = 2,
        prefix: str = "bench-dev-",
        qos: int = 1,
    ) -> None:
        if devices < 1:
            raise ValueError("devices must be at least 1")
        self.devices = devices
        self.z2m_base = z2m_base
        self.z2m_every = max(1, z2m_every)
        self.ids = [f"{prefix}{i}" for i in range(devices)]
        self.run_tag = uuid.uuid4().hex[:6]
        self.count = 0
        self.qos = qos

    def next(self) -> Message:
        n = self.count
        self.count += 1
        i = n % self.devices
        device_id = self.ids[i]
        battery = 100 - (n // self.devices) % 60
        linkquality = 60 + (n * 7) % 150
        if i % self.z2m_every == 0:
            state = {"battery": battery, "battery_low": False, "linkquality": linkquality}
            return Message(f"{self.z2m_base}/{device_id}", z2m_json(state), self.qos)
        topic, payload = encode_native(
            device_id,
            EventKind.HEARTBEAT,
            at=round(time.time(), 3),
            event_id=f"{device_id}:{self.run_tag}-{n:x}",
            model="SW-SOS-1",
            data={"battery": battery, "rssi": -40 - linkquality // 5},
        )
        return Message(topic, payload, self.qos)


def alarm_message(device_id: str, msg_id: str) -> Message:
    """One SOS alarm on the native topic (one message, so publish time is unambiguous)."""
    topic, payload = encode_native(
        device_id,
        EventKind.SOS,
        at=round(time.time(), 3),
        event_id=msg_id,
        model="SW-SOS-1",
        data={"battery": 90},
    )
    return Message(topic, payload)


def run_load(
    mqtt_url: str,
    *,
    rate: float,
    duration: float,
    alarm_rate: float = 0.0,
    devices: int = 1000,
    on_alarm_published: AlarmCallback | None = None,
    alarm_prefix: str = "bench-sos-",
    z2m_base: str = "zigbee2mqtt",
    burst_interval: float = 0.002,
    max_pending: int = 20_000,
    drain_timeout: float = 30.0,
    stop: threading.Event | None = None,
    publisher: MqttPublisher | None = None,
    telemetry_qos: int = 1,
    transport: str = "paho",
) -> LoadResult:
    """Publish ``int(rate * duration)`` heartbeats and ``int(alarm_rate * duration)`` SOS alarms,
    evenly paced over ``duration`` seconds, then wait up to ``drain_timeout`` s for the broker's
    acknowledgements.

    ``on_alarm_published(device_id, time_ns)`` is called right after each alarm's publish call.
    Publishing pauses while more than ``max_pending`` messages await acknowledgement, so a slow
    broker shows up as a lower achieved rate rather than unbounded memory. ``stop`` ends early.
    ``transport="raw"`` publishes with :class:`~firmware_sim.raw_publisher.RawPublisher`, which
    costs the machine far less CPU than paho (for benchmarks on small machines).
    """
    if rate < 0 or alarm_rate < 0 or duration <= 0:
        raise ValueError("rates must be >= 0 and duration > 0")
    max_pending = max(1, min(max_pending, 60_000))
    own_publisher = publisher is None
    pub: MqttPublisher | RawPublisher
    if publisher is not None:
        pub = publisher
    elif transport == "raw":
        pub = RawPublisher(mqtt_url, client_id=new_client_id("shewu-load"))
    else:
        pub = MqttPublisher(mqtt_url, client_id=new_client_id("shewu-load"))
    pool = HeartbeatPool(devices, z2m_base=z2m_base, qos=telemetry_qos)
    total_hb = int(rate * duration)
    total_alarms = int(alarm_rate * duration)
    alarm_tag = uuid.uuid4().hex[:6]
    result = LoadResult(target_rate=rate + alarm_rate, duration_s=0.0)
    publish = pub.publish
    perf_ns = time.perf_counter_ns
    wall_ns = time.time_ns
    result.perf_to_wall_ns = wall_ns() - perf_ns()
    acked_before = pub.acked

    cpu_start = time.process_time()
    start = time.perf_counter()
    hb_sent = 0
    alarms_sent = 0
    try:
        while hb_sent < total_hb or alarms_sent < total_alarms:
            if stop is not None and stop.is_set():
                break
            elapsed = time.perf_counter() - start
            room = max_pending - pub.pending  # MQTT packet ids are 16-bit: never near 65535 unacked
            if room <= 0:
                time.sleep(burst_interval)
                continue
            due_alarms = min(total_alarms, int(elapsed * alarm_rate) + 1, alarms_sent + room)
            while alarms_sent < due_alarms:
                device_id = f"{alarm_prefix}{alarms_sent}"
                message = alarm_message(device_id, f"{device_id}:{alarm_tag}")
                perf = perf_ns()
                wall = wall_ns()
                publish(message)
                result.alarm_publish_ns[device_id] = wall
                result.alarm_publish_perf_ns[device_id] = perf
                alarms_sent += 1
                if on_alarm_published is not None:
                    on_alarm_published(device_id, wall)
            due_hb = min(total_hb, int(elapsed * rate) + 1, hb_sent + room)
            while hb_sent < due_hb:
                publish(pool.next())
                hb_sent += 1
            next_hb = hb_sent / rate if rate and hb_sent < total_hb else duration
            next_alarm = alarms_sent / alarm_rate if alarm_rate and alarms_sent < total_alarms else duration
            pause = min(next_hb, next_alarm) - (time.perf_counter() - start)
            if pause > 0:
                time.sleep(min(max(pause, burst_interval), 0.05))
        result.duration_s = time.perf_counter() - start
        result.heartbeats = hb_sent
        result.alarms = alarms_sent
        drain_start = time.perf_counter()
        result.all_acked = pub.flush(drain_timeout)
        result.drain_s = time.perf_counter() - drain_start
        result.acked = pub.acked - acked_before
        result.cpu_s = time.process_time() - cpu_start
    finally:
        if own_publisher:
            pub.close(timeout=0.0)
    return result
