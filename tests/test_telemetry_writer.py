"""The telemetry writer (gateway.telemetry.writer) through the real influxdb-client, against a real
line-protocol server (Debian's victoria-metrics, tests/victoria.py) and small local HTTP servers
for the answers VictoriaMetrics does not give (errors, silence)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from device_adapters.events import DeviceEvent, EventKind
from gateway.broker import free_port
from gateway.telemetry.points import timestamp_ms
from gateway.telemetry.writer import TelemetryWriter, make_writer
from tests.http_receiver import Behaviour, Receiver
from tests.victoria import Victoria, victoria_path

pytestmark = pytest.mark.integration

# Recent, so that any retention accepts it; whole milliseconds, as VictoriaMetrics keeps them.
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
WRITE = "/api/v2/write"
NO_VICTORIA = ("victoria-metrics is not installed and could not be installed "
               "(scripts/setup --test, or apt-get install victoria-metrics)")


def ev(i: int = 0, kind: EventKind = EventKind.HEARTBEAT, *, device_id: str | None = None,
       raw: dict[str, Any] | None = None, value: Any = None, model: str | None = "SW-SOS-1",
       source: str = "native") -> DeviceEvent:
    return DeviceEvent(device_id=device_id or f"dev-{i % 20}", kind=kind, at=T0 + timedelta(milliseconds=i),
                       source=source, raw=raw if raw is not None else {"battery": i % 101}, value=value, model=model)


def wait_until(check: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def settled(w: TelemetryWriter, offered: int) -> bool:
    c = w.counts()
    return c["queued"] == 0 and c["written"] + c["dropped"] + c["rejected"] == offered


def assert_conserved(w: TelemetryWriter, offered: int) -> None:
    """Every offered event is in exactly one of written, dropped, rejected or queued."""
    c = w.counts()
    assert c["written"] + c["dropped"] + c["rejected"] + c["queued"] == offered, c


@pytest.fixture
def writers() -> Iterator[Callable[..., TelemetryWriter]]:
    made: list[TelemetryWriter] = []

    def make(url: str, **kw: Any) -> TelemetryWriter:
        kw.setdefault("flush_interval", 0.05)
        kw.setdefault("retry_interval", 0.05)
        kw.setdefault("max_retry_delay", 0.2)
        kw.setdefault("timeout", 5.0)
        w = TelemetryWriter(url, kw.pop("token", "test-token"), "shewu", "telemetry", **kw).start()
        made.append(w)
        return w

    yield make
    for w in made:
        w.stop(timeout=1.0)


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[Victoria]:
    if victoria_path() is None:
        pytest.skip(NO_VICTORIA)
    vm = Victoria(tmp_path / "victoria").start()
    yield vm
    vm.stop()


@pytest.fixture
def answering() -> Iterator[Callable[[int], str]]:
    """``answering(status)``: the URL of a server that answers every write with ``status``."""
    servers: list[ThreadingHTTPServer] = []

    def make(status: int) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                body = b'{"code":"unauthorized","message":"unauthorized access"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield make
    for s in servers:
        s.shutdown()
        s.server_close()


# --- into VictoriaMetrics ----------------------------------------------------------------------


def test_events_and_readings_arrive(victoria: Victoria, writers: Callable[..., TelemetryWriter]) -> None:
    w = writers(victoria.url)
    elder = "3号楼 2单元,101=王奶奶"  # Chinese, spaces, a comma and an equals sign
    events = [
        ev(0, EventKind.SOS, device_id=elder, value="emergency", raw={"action": "emergency", "battery": 87,
                                                                     "linkquality": 120}),
        ev(1, EventKind.BATTERY_LOW, device_id="leak-7", value=8, model="SNZB-05", source="zigbee2mqtt",
           raw={"battery": 8, "battery_low": True, "water_leak": False, "temperature": 21.5}),
        ev(2, EventKind.AVAILABILITY, device_id="radar-3", value="offline", model=None, raw={}),
        ev(3, EventKind.TELEMETRY, device_id="radar-3", model=None, raw={"presence": True, "illuminance_lux": 120}),
    ]
    w.offer(events)
    wait_until(lambda: w.written == 4, what="4 events written")
    assert w.take_deltas() == {"written": 4, "dropped": 0, "rejected": 0, "failed_batches": 0, "queued": 0}
    assert w.take_deltas() == {"written": 0, "dropped": 0, "rejected": 0, "failed_batches": 0, "queued": 0}

    expected = {
        ("device_event_count", frozenset({("device_id", elder), ("kind", "sos"), ("model", "SW-SOS-1"),
                                          ("source", "native")})): [(timestamp_ms(events[0].at), 1.0)],
        ("device_reading_battery", frozenset({("device_id", elder), ("model", "SW-SOS-1"),
                                              ("source", "native")})): [(timestamp_ms(events[0].at), 87.0)],
        ("device_reading_linkquality", frozenset({("device_id", elder), ("model", "SW-SOS-1"),
                                                  ("source", "native")})): [(timestamp_ms(events[0].at), 120.0)],
        ("device_event_value", frozenset({("device_id", "leak-7"), ("kind", "battery_low"), ("model", "SNZB-05"),
                                          ("source", "zigbee2mqtt")})): [(timestamp_ms(events[1].at), 8.0)],
        ("device_reading_battery_low", frozenset({("device_id", "leak-7"), ("model", "SNZB-05"),
                                                  ("source", "zigbee2mqtt")})): [(timestamp_ms(events[1].at), 1.0)],
        ("device_reading_water_leak", frozenset({("device_id", "leak-7"), ("model", "SNZB-05"),
                                                 ("source", "zigbee2mqtt")})): [(timestamp_ms(events[1].at), 0.0)],
        ("device_reading_temperature", frozenset({("device_id", "leak-7"), ("model", "SNZB-05"),
                                                  ("source", "zigbee2mqtt")})): [(timestamp_ms(events[1].at), 21.5)],
        ("device_event_count", frozenset({("device_id", "radar-3"), ("kind", "availability"),
                                          ("source", "native")})): [(timestamp_ms(events[2].at), 1.0)],
        ("device_reading_presence", frozenset({("device_id", "radar-3"), ("source", "native")})):
            [(timestamp_ms(events[3].at), 1.0)],
        ("device_reading_illuminance_lux", frozenset({("device_id", "radar-3"), ("source", "native")})):
            [(timestamp_ms(events[3].at), 120.0)],
    }
    victoria.wait_for('{__name__=~"device_.*"}', lambda s: len(s) >= 15)
    got = victoria.samples('{__name__=~"device_.*"}')
    for key, samples in expected.items():
        assert got.get(key) == samples, key
    names = {name for name, _ in got}
    assert names == {
        "device_event_count", "device_event_value", "device_event_value_text", "device_reading_battery",
        "device_reading_linkquality", "device_reading_battery_low", "device_reading_water_leak",
        "device_reading_temperature", "device_reading_presence", "device_reading_illuminance_lux",
    }
    # (VictoriaMetrics keeps numbers only: the string field value_text arrives as a series of 0s.)
    assert w.failed_batches == 0 and w.dropped == 0 and w.queued == 0


def test_many_events_in_batches(victoria: Victoria, writers: Callable[..., TelemetryWriter]) -> None:
    w = writers(victoria.url, batch_size=200)
    n = 3000
    for start in range(0, n, 250):  # the way ingest batches come
        w.offer([ev(i) for i in range(start, start + 250)])
    wait_until(lambda: w.written == n, what=f"{n} events written")
    series = victoria.wait_for('device_event_count{kind="heartbeat"}',
                               lambda s: sum(len(x["values"]) for x in s) >= n)
    stamps = sorted(t for s in series for t in s["timestamps"])
    assert stamps == [timestamp_ms(T0) + i for i in range(n)]
    assert len(series) == 20  # dev-0 .. dev-19
    assert w.dropped == 0 and w.failed_batches == 0


def test_server_absent_then_back(tmp_path: Path, writers: Callable[..., TelemetryWriter]) -> None:
    """Nothing listens: offers return at once and what does not fit is dropped and counted;
    VictoriaMetrics comes up on that port: the oldest events, kept, are written."""
    if victoria_path() is None:
        pytest.skip(NO_VICTORIA)
    port = free_port()
    w = writers(f"http://127.0.0.1:{port}", queue_size=100, batch_size=10)
    n = 10_000
    started = time.monotonic()
    for i in range(n):
        w.offer([ev(i, device_id="elder-1")])
    elapsed = time.monotonic() - started
    assert elapsed < 10.0  # loose on purpose: it is milliseconds; a blocking offer would take hours
    assert_conserved(w, n)
    assert w.written == 0
    assert w.dropped >= n - 100 - 10
    assert 100 <= w.queued <= 110
    wait_until(lambda: w.failed_batches >= 3, what="retries while the server is away")
    assert w.written == 0 and w.rejected == 0
    assert_conserved(w, n)

    vm = Victoria(tmp_path / "victoria", port=port).start()
    try:
        wait_until(lambda: settled(w, n), what="the backlog written")
        kept = w.written
        assert 100 <= kept <= 110 and w.dropped == n - kept
        # the oldest were kept, the newest dropped: a full queue held events 0..99 (and the
        # writer, taking its first batch, made room for a few later ones)
        series = vm.wait_for('device_event_count{device_id="elder-1"}',
                             lambda s: sum(len(x["values"]) for x in s) >= kept)
        stamps = sorted(t for s in series for t in s["timestamps"])
        assert len(stamps) == len(set(stamps)) == kept
        assert stamps[:100] == [timestamp_ms(T0) + i for i in range(100)]
        # and new events flow again
        w.offer([ev(n + i, device_id="elder-2") for i in range(50)])
        wait_until(lambda: w.written == kept + 50, what="new events written")
        series = vm.wait_for('device_event_count{device_id="elder-2"}',
                             lambda s: sum(len(x["values"]) for x in s) >= 50)
        assert sum(len(s["values"]) for s in series) == 50
    finally:
        vm.stop()


def test_stop_writes_what_is_queued(victoria: Victoria, writers: Callable[..., TelemetryWriter]) -> None:
    w = writers(victoria.url, flush_interval=60.0, batch_size=1000)  # nothing is due before stop()
    w.offer([ev(i) for i in range(70)])
    assert w.written == 0
    w.stop(timeout=10.0)
    assert w.counts() == {"written": 70, "dropped": 0, "rejected": 0, "failed_batches": 0, "queued": 0}
    w.offer([ev(1)])  # after stop: dropped, counted, no error
    assert w.dropped == 1
    series = victoria.wait_for("device_event_count", lambda s: sum(len(x["values"]) for x in s) >= 70)
    assert sum(len(s["values"]) for s in series) == 70


# --- answers VictoriaMetrics does not give -------------------------------------------------------


def test_request_shape(receiver: Receiver, writers: Callable[..., TelemetryWriter]) -> None:
    w = writers(receiver.base, token="s3cret", batch_size=100, flush_interval=30.0)
    w.offer([ev(i) for i in range(250)])  # two full batches now, the rest at stop()
    wait_until(lambda: w.written == 200, what="two batches")
    w.stop(timeout=5.0)
    assert w.written == 250
    requests = receiver.on(WRITE)
    assert len(requests) == 3
    first = requests[0]
    assert first.query == {"org": ["shewu"], "bucket": ["telemetry"], "precision": ["ms"]}
    assert first.headers["Authorization"] == "Token s3cret"
    lines = first.body.decode().splitlines()
    assert len(lines) == 200  # 100 events, each an event point and a reading point
    assert lines[0] == f"device_event,device_id=dev-0,kind=heartbeat,model=SW-SOS-1,source=native count=1i " \
                       f"{timestamp_ms(T0)}"
    assert [len(r.body.decode().splitlines()) for r in requests] == [200, 200, 100]


def test_retries_server_errors(receiver: Receiver, writers: Callable[..., TelemetryWriter]) -> None:
    receiver.behaviour[WRITE] = Behaviour(fail_first=3)  # HTTP 500 three times
    w = writers(receiver.base)
    w.offer([ev(i) for i in range(20)])
    wait_until(lambda: w.written == 20, what="written after retries")
    assert w.failed_batches == 3 and w.dropped == 0 and w.rejected == 0
    bodies = [r.body for r in receiver.on(WRITE)]
    assert len(bodies) == 4 and len(set(bodies)) == 1  # the same batch, again


def test_refused_batches_are_not_retried(answering: Callable[[int], str],
                                         writers: Callable[..., TelemetryWriter]) -> None:
    w = writers(answering(401), batch_size=10)
    w.offer([ev(i) for i in range(25)])
    wait_until(lambda: settled(w, 25), what="batches refused")
    assert w.counts() == {"written": 0, "dropped": 0, "rejected": 25, "failed_batches": 3, "queued": 0}
    w.offer([ev(99)])  # still running
    wait_until(lambda: w.rejected == 26, what="the next batch refused too")


def test_gives_up_a_batch_after_max_retry_time(answering: Callable[[int], str],
                                               writers: Callable[..., TelemetryWriter]) -> None:
    w = writers(answering(503), max_retry_time=0.3, batch_size=5)
    w.offer([ev(i) for i in range(10)])
    wait_until(lambda: settled(w, 10), what="both batches given up")
    assert w.dropped == 10 and w.written == 0 and w.failed_batches >= 2


def test_slow_server_never_blocks_offer(writers: Callable[..., TelemetryWriter]) -> None:
    """A server that takes the connection and never answers: the writer waits (timeout), offers
    do not; the queue fills and the rest is dropped and counted."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # connections complete in the backlog; nobody reads or answers
        w = writers(f"http://127.0.0.1:{silent.getsockname()[1]}", queue_size=50, batch_size=10, timeout=1.0)
        for i in range(5000):
            w.offer([ev(i)])
        assert w.written == 0
        assert w.dropped >= 5000 - 50 - 10
        assert_conserved(w, 5000)
        w.stop(timeout=0.5)
        wait_until(lambda: settled(w, 5000), what="everything accounted for after stop")
        assert w.written == 0 and w.dropped == 5000


def test_offer_from_many_threads(receiver: Receiver, writers: Callable[..., TelemetryWriter]) -> None:
    w = writers(receiver.base, queue_size=500, batch_size=100)

    def offer_many(k: int) -> None:
        for i in range(2500):
            w.offer([ev(k * 10_000 + i)])

    threads = [threading.Thread(target=offer_many, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    w.stop(timeout=10.0)
    c = w.counts()
    assert c["written"] + c["dropped"] == 10_000 and c["queued"] == 0
    written_lines = sum(len(r.body.decode().splitlines()) for r in receiver.on(WRITE))
    assert written_lines == 2 * c["written"]  # each event: an event point and a reading point


def test_off_without_url() -> None:
    assert make_writer("", "", "", "") is None
    with pytest.raises(ValueError, match="bucket"):
        TelemetryWriter("http://127.0.0.1:1", "", "shewu", "")
    w = make_writer("http://127.0.0.1:1", "", "shewu", "telemetry", retry_interval=0.01)
    assert w is not None
    w.stop(timeout=0.5)
    assert w.queued == 0
