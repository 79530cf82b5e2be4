"""Telemetry throughput into VictoriaMetrics: Shewu's TelemetryWriter against writing the same
points directly with influxdb-client, in the same run, on the same machine.

N device events (heartbeats and telemetry readings from a few thousand devices, each at its own
millisecond, so that every point is distinct) are written four ways, each into a fresh
VictoriaMetrics of its own (an empty data directory: every run creates the same series from
nothing, and the count read back afterwards is that run's alone):

1. influxdb-client's synchronous write API, one request per ``--batch-size`` events (the
   writer's batches), bodies built beforehand with ``points_for`` (identical line protocol);
2. the same, each body built with ``points_for`` in the timed loop, as the writer does;
3. influxdb-client's batching ``WriteApi`` (optional), given the same lines in ingest-sized
   calls, one request per as many lines as a writer batch holds on average;
4. ``TelemetryWriter``: ``offer()`` in ingest-sized chunks; timed to ``written == N``.

After each run the points are counted through ``/api/v1/export``.

    python bench/telemetry_throughput.py [--events 200000] [--batch-size 500] [--queue-size 10000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import ProcStats
from influxdb_client import InfluxDBClient, WriteOptions, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
from reactivex.scheduler import ThreadPoolScheduler

from device_adapters.events import DeviceEvent, EventKind
from gateway.telemetry.points import EVENT_MEASUREMENT, points_for
from gateway.telemetry.writer import TelemetryWriter
from tests.victoria import Victoria

ORG, BUCKET = "shewu", "telemetry"  # what VictoriaMetrics ignores, passed as the gateway would
STEP_MS = 5  # between two consecutive events: every point has its own millisecond
Z2M_MODELS = ("SNZB-02", "WSDCGQ11LM", "TS0201")
SYNC = "sync client, bodies prebuilt"
SYNC_BUILD = "sync client + points_for per batch"
BATCHING = "batching client WriteApi"
WRITER = "shewu TelemetryWriter"


def make_events(n: int, devices: int) -> list[DeviceEvent]:
    """Half native heartbeats (battery, rssi), half Zigbee2MQTT telemetry (battery, battery_low,
    linkquality, temperature, humidity), round-robin over ``devices``, ``STEP_MS`` apart and
    ending a minute ago (so each device reports every ``devices * STEP_MS`` ms)."""
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(milliseconds=n * STEP_MS) - timedelta(minutes=1)
    events = []
    for k in range(n):
        d = k % devices
        rnd = k // devices
        at = t0 + timedelta(milliseconds=k * STEP_MS)
        battery = 100 - rnd % 60
        linkquality = 60 + (k * 7) % 150
        if d % 2:
            events.append(DeviceEvent(
                device_id=f"tp-sos-{d}", kind=EventKind.HEARTBEAT, at=at, source="native",
                raw={"battery": battery, "rssi": -40 - linkquality // 5}, model="SW-SOS-1",
                event_id=f"tp-sos-{d}:{k:x}"))
        else:
            raw = {"battery": battery, "battery_low": battery < 45, "linkquality": linkquality,
                   "temperature": round(18 + (k % 70) / 10, 1), "humidity": 35 + k % 30,
                   "last_seen": int(at.timestamp() * 1000)}
            events.append(DeviceEvent(
                device_id=f"tp-z2m-{d}", kind=EventKind.TELEMETRY, at=at, source="zigbee2mqtt", raw=raw,
                model=Z2M_MODELS[d % len(Z2M_MODELS)]))
    return events


def samples_of(lines: list[str]) -> int:
    """VictoriaMetrics samples the lines make: one per field (our events have no string fields)."""
    return sum(line.rsplit(" ", 2)[1].count(",") + 1 for line in lines)


def chunks(seq: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


@contextmanager
def fresh_victoria(root: Path, name: str) -> Iterator[tuple[Victoria, ProcStats]]:
    vm = Victoria(root / name).start()
    assert vm.proc is not None
    try:
        yield vm, ProcStats(vm.proc.pid)
    finally:
        vm.stop()


def count_exported(vm: Victoria, expect_events: int, expect_samples: int, timeout: float = 60.0) -> tuple[int, int]:
    """(device_event points, all samples) exported, read until they reach what was expected or
    ``timeout`` passed (VictoriaMetrics makes rows searchable within about a second)."""
    query = urllib.parse.urlencode({"match[]": '{__name__=~"device_.*"}'})
    deadline = time.monotonic() + timeout
    while True:
        vm.force_flush()
        events = samples = 0
        with urllib.request.urlopen(f"{vm.url}/api/v1/export?{query}", timeout=300) as resp:
            for line in resp:
                if line.strip():
                    series = json.loads(line)
                    n = len(series["timestamps"])
                    samples += n
                    if series["metric"]["__name__"] == f"{EVENT_MEASUREMENT}_count":
                        events += n
        if (events >= expect_events and samples >= expect_samples) or time.monotonic() >= deadline:
            return events, samples
        time.sleep(0.5)


def timed(vm_stats: ProcStats, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    cpu0, vm_cpu0, t0 = time.process_time(), vm_stats.cpu(), time.perf_counter()
    result = work()
    seconds = result.pop("end", time.perf_counter()) - t0
    return {"seconds": seconds, "cpu_s": time.process_time() - cpu0, "vm_cpu_s": vm_stats.cpu() - vm_cpu0,
            **result}


def run_sync(vm: Victoria, stats: ProcStats, bodies: list[bytes] | None = None,
             batches: list[list[DeviceEvent]] | None = None) -> dict[str, Any]:
    """The given request bodies, or (``batches``) each batch's body built in the timed loop."""
    client = InfluxDBClient(url=vm.url, token=None, org=ORG, timeout=10_000)
    api = client.write_api(write_options=SYNCHRONOUS)

    def work() -> dict[str, Any]:
        if bodies is not None:
            for body in bodies:
                api.write(bucket=BUCKET, org=ORG, record=body, write_precision=WritePrecision.MS)
        for batch in batches or ():
            body = "\n".join(points_for(batch)).encode("utf-8")
            api.write(bucket=BUCKET, org=ORG, record=body, write_precision=WritePrecision.MS)
        return {"dropped": 0, "failed": 0}

    try:
        return timed(stats, work)
    finally:
        api.close()
        client.close()


def run_batching(vm: Victoria, stats: ProcStats, calls: list[list[str]], lines_per_request: int,
                 total_lines: int) -> dict[str, Any]:
    client = InfluxDBClient(url=vm.url, token=None, org=ORG, timeout=10_000)
    done = threading.Event()
    acked = {"lines": 0, "failed": 0}
    ends: list[float] = []

    def success(_conf: Any, data: Any) -> None:
        acked["lines"] += data.count(b"\n") + 1 if isinstance(data, bytes) else data.count("\n") + 1
        if acked["lines"] >= total_lines:
            ends.append(time.perf_counter())
            done.set()

    def error(_conf: Any, _data: Any, _exc: Exception) -> None:
        acked["failed"] += 1

    options = WriteOptions(batch_size=lines_per_request, flush_interval=1_000,
                           write_scheduler=ThreadPoolScheduler(max_workers=1))
    api = client.write_api(write_options=options, success_callback=success, error_callback=error)

    def work() -> dict[str, Any]:
        enqueue = 0.0
        for lines in calls:
            t = time.perf_counter()
            api.write(bucket=BUCKET, org=ORG, record=lines, write_precision=WritePrecision.MS)
            enqueue += time.perf_counter() - t
        finished = done.wait(600)
        return {"end": ends[0] if finished else time.perf_counter(), "enqueue_s": enqueue, "dropped": 0,
                "failed": acked["failed"], "acked_lines": acked["lines"]}

    try:
        return timed(stats, work)
    finally:
        api.close()
        client.close()


def run_writer(vm: Victoria, stats: ProcStats, events: list[DeviceEvent], chunk: int, batch_size: int,
               queue_size: int, paced: bool) -> dict[str, Any]:
    writer = TelemetryWriter(vm.url, "", ORG, BUCKET, batch_size=batch_size, queue_size=queue_size).start()
    n = len(events)

    def work() -> dict[str, Any]:
        offer = waited = 0.0
        for part in chunks(events, chunk):
            if paced:  # as a gateway whose ingest never outruns the writer: offer when it fits
                t = time.perf_counter()
                while (q := writer.queued) and q + len(part) > queue_size:
                    time.sleep(0.001)
                waited += time.perf_counter() - t
            t = time.perf_counter()
            writer.offer(part)
            offer += time.perf_counter() - t
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            c = writer.counts()
            if c["queued"] == 0 and c["written"] + c["dropped"] + c["rejected"] >= n:
                break
            time.sleep(0.005)
        end = time.perf_counter()
        return {"end": end, "enqueue_s": offer, "waited_s": waited, **writer.counts()}

    try:
        return timed(stats, work)
    finally:
        writer.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--devices", type=int, default=3000)
    ap.add_argument("--batch-size", type=int, default=500, help="the writer's batch_size (events per request)")
    ap.add_argument("--queue-size", type=int, default=10_000, help="the writer's queue_size (events)")
    ap.add_argument("--chunk", type=int, default=2000, help="events per offer() (an ingest batch)")
    ap.add_argument("--unpaced", action="store_true",
                    help="offer every chunk at once, without waiting for room in the writer's queue (drops)")
    ap.add_argument("--no-batching-api", action="store_true", help="skip influxdb-client's batching WriteApi")
    args = ap.parse_args()

    events = make_events(args.events, args.devices)
    event_batches = list(chunks(events, args.batch_size))  # the writer's requests
    batches = [points_for(b) for b in event_batches]
    bodies = ["\n".join(lines).encode("utf-8") for lines in batches]
    total_lines = sum(len(lines) for lines in batches)
    total_samples = sum(samples_of(lines) for lines in batches)
    calls = [points_for(c) for c in chunks(events, args.chunk)]  # what ingest would hand the client
    lines_per_request = round(total_lines / len(batches))
    if args.events % args.batch_size:
        print(f"note: {args.events} events is not a multiple of --batch-size {args.batch_size}: the writer's last, "
              "partial batch waits its flush_interval (1 s) before it is written, and that wait is timed")
    print(f"{args.events} events from {args.devices} devices -> {total_lines} points, {total_samples} samples; "
          f"{len(bodies)} requests of {args.batch_size} events (~{lines_per_request} points)", flush=True)

    results: list[tuple[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="shewu-bench-telemetry-") as tmp:
        root = Path(tmp)

        def measure(name: str, run: Callable[[Victoria, ProcStats], dict[str, Any]], expect_events: int,
                    expect_samples: int) -> None:
            with fresh_victoria(root, f"vm{len(results)}") as (vm, stats):
                r = run(vm, stats)
                written = r.get("written", args.events)
                r["found_events"], r["found_samples"] = count_exported(
                    vm, written, expect_samples if written == args.events else 0,
                    timeout=60 if written == expect_events else 5)
                r["expect_samples"] = expect_samples if written == args.events else None
            results.append((name, r))
            print(f"  {name}: {r['seconds']:.2f} s", flush=True)

        measure(SYNC, lambda vm, st: run_sync(vm, st, bodies=bodies), args.events, total_samples)
        measure(SYNC_BUILD, lambda vm, st: run_sync(vm, st, batches=event_batches), args.events, total_samples)
        if not args.no_batching_api:
            measure(BATCHING,
                    lambda vm, st: run_batching(vm, st, calls, lines_per_request, total_lines),
                    args.events, total_samples)
        measure(WRITER,
                lambda vm, st: run_writer(vm, st, events, args.chunk, args.batch_size, args.queue_size,
                                          not args.unpaced),
                args.events, total_samples)

    print(f"\nTelemetry throughput into VictoriaMetrics: {args.events} events ({total_lines} points), "
          f"batch {args.batch_size}, queue {args.queue_size}, offer chunk {args.chunk}"
          f"{' (unpaced)' if args.unpaced else ''}")
    print(f"{'path':<36}{'seconds':>8}{'events/s':>10}{'points/s':>10}{'enq us/ev':>10}{'CPU s':>7}{'VM CPU':>7}"
          f"{'dropped':>8}  verified (events, samples)")
    for name, r in results:
        written = r.get("written", args.events)
        rate = written / r["seconds"] if r["seconds"] else 0.0
        points = rate * total_lines / args.events
        enq = f"{r['enqueue_s'] / args.events * 1e6:.2f}" if "enqueue_s" in r else "-"
        ok = r["found_events"] == written and (r["expect_samples"] is None or r["found_samples"] == r["expect_samples"])
        exp = r["expect_samples"] if r["expect_samples"] is not None else "?"
        print(f"{name:<36}{r['seconds']:>8.2f}{rate:>10.0f}{points:>10.0f}{enq:>10}{r['cpu_s']:>7.2f}"
              f"{r['vm_cpu_s']:>7.2f}{r.get('dropped', 0):>8}  {'OK' if ok else 'MISMATCH'} "
              f"({r['found_events']}/{written}, {r['found_samples']}/{exp})")
    base = dict(results)
    writer = base[WRITER]
    w_rate = writer.get("written", 0) / writer["seconds"] if writer["seconds"] else 0.0
    for name in (SYNC, SYNC_BUILD, BATCHING):
        if name in base and base[name]["seconds"]:
            print(f"writer / {name}: {w_rate / (args.events / base[name]['seconds']) * 100:.0f} %")
    print(f"writer: offer() {writer['enqueue_s'] * 1e3:.1f} ms in total ({writer['enqueue_s'] / args.events * 1e6:.2f} "
          f"us/event); waited for room {writer['waited_s']:.2f} s; written {writer['written']}, "
          f"dropped {writer['dropped']}, rejected {writer['rejected']}, failed requests {writer['failed_batches']}")


if __name__ == "__main__":
    main()
