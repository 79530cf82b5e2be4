"""Fleet supervision: N home units (model shewu-hub) heartbeating every 60 s on the native topic.
What the gateway's ingest costs (CPU, resident memory) at that steady load, and how long after a
missed deadline its offline ticket opens, with a plain paho subscriber's cost as the baseline.

The devices are registered in the database before the gateway starts, so supervision enrolls
them all. A load process gives every device one heartbeat a minute, spread evenly (N/60 msg/s).
After a warm-up, the gateway is measured for --minutes; at the start of that window --silent
devices (spread over the minute) stop. Each deadline is "last heartbeat + interval + grace"
(60 + 30 s); the time from it to the device's offline order is read from the database.

    python bench/fleet_supervision.py [--devices 100000] [--minutes 3] [--silent 100] [--db URL]
    python bench/fleet_supervision.py --devices 20000 --minutes 1     # a quick run
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from _common import ROOT, GatewayProcess, Mosquitto, ProcStats, percentile
from sqlalchemy.engine import Engine

from device_adapters.events import EventKind
from device_adapters.native import encode_native
from firmware_sim.encoding import Message
from firmware_sim.raw_publisher import RawPublisher
from gateway.domain.supervision import profile_for
from gateway.storage.db import create_schema, make_engine
from gateway.storage.models import Device, DeviceHistory, DeviceStatus, DeviceSupervision, Order

MODEL, KIND = "shewu-hub", "hub"
PROFILE = profile_for(KIND, MODEL)
PERIOD_S = PROFILE.interval.total_seconds()  # each device heartbeats once per interval
ALLOWANCE_S = (PROFILE.interval + PROFILE.grace).total_seconds()  # deadline = last seen + this
MAX_PENDING = 20_000  # QoS 1: unacknowledged publishes before the load pauses (packet ids are 16-bit)

_DEV: Any = Device.__table__
_STATUS: Any = DeviceStatus.__table__
_SUP: Any = DeviceSupervision.__table__
_ORD: Any = Order.__table__
_HIST: Any = DeviceHistory.__table__


def device_ids(n: int) -> list[str]:
    width = len(str(max(n - 1, 0)))
    return [f"hub-{i:0{width}d}" for i in range(n)]


# --- the load: one process, one raw socket -------------------------------------------------------


def _heartbeats(url: str, n: int, silent: list[int], qos: int, ready: Any, stop: Any, silence: Any, shared: Any,
                out: Any) -> None:
    """Device i heartbeats at (i + k·n) · 60/n s after the start: round robin at n/60 msg/s. Once
    ``silence`` is set, the ``silent`` devices' turns pass without a message. ``shared``: turns
    so far, messages published, when the silence began (wall clock)."""
    ids = device_ids(n)
    quiet_set = set(silent)
    last: dict[int, float] = dict.fromkeys(silent, 0.0)  # the last heartbeat's ts, as published
    pub = RawPublisher(url, client_id=f"bench-fleet-load-{uuid.uuid4().hex[:6]}")
    publish = pub.publish
    tag = uuid.uuid4().hex[:6]
    rate = n / PERIOD_S
    quiet = False
    turns = published = 0
    cpu0 = time.process_time()
    ready.set()
    start = time.perf_counter()
    while not stop.is_set():
        if not quiet and silence.is_set():
            quiet = True
            shared[2] = time.time()
        room = MAX_PENDING - pub.pending
        if room <= 0:
            time.sleep(0.01)
            continue
        due = min(int((time.perf_counter() - start) * rate) + 1, turns + room)
        while turns < due:
            i = turns % n
            turns += 1
            if quiet and i in quiet_set:
                continue
            at = round(time.time(), 3)
            device = ids[i]
            topic, payload = encode_native(device, EventKind.HEARTBEAT, at=at, event_id=f"{device}:{tag}-{turns:x}")
            publish(Message(topic, payload, qos))
            published += 1
            if i in last:
                last[i] = at
        shared[0], shared[1] = turns, published
        pause = turns / rate - (time.perf_counter() - start)
        if pause > 0:
            time.sleep(min(max(pause, 0.01), 0.05))
    seconds = time.perf_counter() - start
    flushed = pub.flush(30)
    acked, total = pub.acked, pub.published
    pub.close(timeout=0)
    out.send({"seconds": seconds, "published": total, "acked": acked, "all_acked": flushed,
              "cpu_s": time.process_time() - cpu0, "last": {ids[i]: t for i, t in last.items()}})


class Load:
    def __init__(self, url: str, n: int, silent: list[int], qos: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._ready, self._stop, self._silence = ctx.Event(), ctx.Event(), ctx.Event()
        self.shared = ctx.Array("d", 3, lock=False)
        self._result, child = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_heartbeats, name="bench-fleet-load",
                                args=(url, n, silent, qos, self._ready, self._stop, self._silence, self.shared, child))

    @property
    def pid(self) -> int:
        return int(self.proc.pid or 0)

    def start(self) -> Load:
        self.proc.start()
        if not self._ready.wait(60):
            raise RuntimeError("the load process did not start")
        return self

    def counts(self) -> tuple[float, float]:
        """Turns (due heartbeat slots) and messages published so far."""
        return self.shared[0], self.shared[1]

    def silence(self) -> float:
        """Stop the silent devices; answers when the load process did (wall clock)."""
        self._silence.set()
        deadline = time.monotonic() + 5
        while not self.shared[2] and time.monotonic() < deadline:
            time.sleep(0.005)
        return float(self.shared[2])

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        result: dict[str, Any] = self._result.recv() if self._result.poll(60) else {}
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()
        return result


# --- the database --------------------------------------------------------------------------------


def register(engine: Engine, ids: list[str]) -> float:
    """Bulk insert into ``devices``; answers the seconds it took."""
    t = time.perf_counter()
    now = datetime.now(UTC)
    with engine.begin() as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(_DEV)).scalar_one():
            raise SystemExit("the database already has devices: give a throwaway database (or none, for SQLite)")
        for i in range(0, len(ids), 10_000):
            conn.execute(sa.insert(_DEV), [
                {"device_id": d, "model": MODEL, "kind": KIND, "resident": "", "address": f"hub {d}",
                 "grid": f"G{j % 40}", "created_at": now, "updated_at": now}
                for j, d in enumerate(ids[i:i + 10_000], start=i)])
    return time.perf_counter() - t


def scalar(engine: Engine, stmt: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(stmt).scalar()


def backlog(engine: Engine) -> tuple[int, float]:
    """Deadlines due and not yet taken by supervision, and how late the oldest of them is (s)."""
    now = datetime.now(UTC)
    with engine.connect() as conn:
        count, oldest = conn.execute(sa.select(sa.func.count(), sa.func.min(_SUP.c.deadline_at))
                                     .where(_SUP.c.state == "ok", _SUP.c.deadline_at <= now)).one()
    return int(count), (now - oldest).total_seconds() if oldest is not None else 0.0


def db_size_mb(engine: Engine, db_url: str) -> float | None:
    if engine.dialect.name == "sqlite":
        path = sa.engine.make_url(db_url).database or ""
        files = [Path(path), Path(path + "-wal")]
        return sum(f.stat().st_size for f in files if f.exists()) / 2**20
    if engine.dialect.name == "postgresql":
        return float(scalar(engine, sa.text("SELECT pg_database_size(current_database())"))) / 2**20
    return None


# --- watching the gateway ------------------------------------------------------------------------


class Watch:
    """Sampled while the gateway runs: offline orders as they appear (every 0.25 s), the
    supervision backlog (every 2 s), RSS (every 1 s), /healthz (every 5 s)."""

    def __init__(self, engine: Engine, gw: GatewayProcess, stats: ProcStats) -> None:
        self.engine, self.gw, self.stats = engine, gw, stats
        self.first_seen: dict[str, float] = {}  # device → wall time the bench first saw its offline order
        self._last_order = 0
        self._next: dict[str, float] = {}
        self.phase: dict[str, Any] = {}
        self.new_phase()

    def new_phase(self) -> None:
        self.phase = {"backlog_rows": 0, "overdue_s": 0.0, "rss_max": 0.0, "rss": 0.0, "health_bad": 0,
                      "health_n": 0, "overdue_last": 0.0}

    def _due(self, what: str, every: float) -> bool:
        now = time.monotonic()
        if now >= self._next.get(what, 0.0):
            self._next[what] = now + every
            return True
        return False

    def tick(self) -> None:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(_ORD.c.id, _ORD.c.device_id)
                                .where(_ORD.c.kind == "offline", _ORD.c.id > self._last_order)).all()
        seen = time.time()
        for order_id, device in rows:
            self.first_seen.setdefault(device, seen)
            self._last_order = max(self._last_order, order_id)
        p = self.phase
        if self._due("backlog", 2.0):
            rows_due, overdue = backlog(self.engine)
            p["backlog_rows"] = max(p["backlog_rows"], rows_due)
            p["overdue_s"] = max(p["overdue_s"], overdue)
            p["overdue_last"] = overdue
        if self._due("rss", 1.0):
            p["rss"] = self.stats.rss_mb()
            p["rss_max"] = max(p["rss_max"], p["rss"])
        if self._due("health", 5.0):
            p["health_n"] += 1
            try:
                ok = httpx.get(f"{self.gw.base_url}/healthz", timeout=5).status_code == 200
            except httpx.HTTPError:
                ok = False
            p["health_bad"] += not ok

    def run(self, seconds: float, until: Any = None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.tick()
            if until is not None and until():
                return
            time.sleep(0.25)


def own_cpu(pid: int) -> float:
    """CPU seconds of one process alone (not its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def gateway_metrics(gw: GatewayProcess) -> dict[str, float]:
    return {name: gw.metric(name) for name in
            ("shewu_messages_in_total", "shewu_ack_lag_seconds_sum", "shewu_ack_lag_seconds_count",
             "shewu_ingest_batches_total")}


# --- the phases ----------------------------------------------------------------------------------


def run_baseline(args: argparse.Namespace, broker: Mosquitto, load: Load) -> dict[str, float]:
    """The plain paho QoS 1 subscriber (the gateway's subscriptions) receives the same heartbeats."""
    client_id = "bench-fleet-plain"
    plain = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "plain_subscriber.py"), "--url", broker.url, "--client-id", client_id,
         "--expect", "0", "--record", "bench-fleet-none-", "--protocol", str(args.mqtt_protocol)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert plain.stdin is not None and plain.stdout is not None and broker.proc is not None
    try:
        plain.stdout.readline()  # ready
        stats, bstats, lstats = ProcStats(plain.pid), ProcStats(broker.proc.pid), ProcStats(load.pid)
        t0 = time.monotonic()
        rss = rss_max = 0.0
        while time.monotonic() - t0 < args.baseline:
            rss = stats.rss_mb()
            rss_max = max(rss_max, rss)
            time.sleep(1)
        seconds = time.monotonic() - t0
        cpu, bcpu, lcpu = stats.cpu_used(), bstats.cpu_used(), lstats.cpu_used()
        plain.stdin.close()
        result = json.loads(plain.stdout.read().strip().splitlines()[-1])
    finally:
        if plain.poll() is None:
            plain.kill()
    RawPublisher(broker.url, client_id=client_id).close()  # a clean session: the broker drops its queue
    return {"seconds": seconds, "rate": result["rate"], "cpu": cpu / seconds * 100, "rss_max": rss_max, "rss": rss,
            "broker": bcpu / seconds * 100, "load": lcpu / seconds * 100}


def run_gateway(args: argparse.Namespace, broker: Mosquitto, engine: Engine, db_url: str, load: Load,
                work: Path, n: int, silent_ids: list[str]) -> dict[str, Any]:
    gw = GatewayProcess(mqtt_url=broker.url, db_url=db_url, log_dir=work, instance_id="bench-fleet",
                        protocol=args.mqtt_protocol)
    r: dict[str, Any] = {"log": gw.log_path}
    t0 = time.monotonic()
    try:
        gw.start(timeout=120)
        assert gw.proc is not None and broker.proc is not None
        r["healthy_s"] = time.monotonic() - t0
        watch = Watch(engine, gw, ProcStats(gw.proc.pid))

        # Warm-up: everything enrolled, the enrolment burst (all deadlines due 90 s after the
        # start) worked through, and at least --warmup seconds of heartbeats.
        enrolled_at = None
        while True:
            watch.run(2.0)
            elapsed = time.monotonic() - t0
            if enrolled_at is None and scalar(engine, sa.select(sa.func.count()).select_from(_SUP)) >= n:
                enrolled_at = elapsed
            caught_up = enrolled_at is not None and watch.phase["overdue_last"] <= 5.0
            if elapsed >= args.warmup and (caught_up or elapsed >= args.warmup + 180):
                break
        r.update(warmup_s=time.monotonic() - t0, enrolled_s=enrolled_at, caught_up=caught_up, warm=watch.phase)

        # The measured window; the silent devices stop at its start.
        watch.new_phase()
        gstats, bstats, lstats = ProcStats(gw.proc.pid), ProcStats(broker.proc.pid), ProcStats(load.pid)
        watch.stats = gstats
        m0, (turns0, sent0) = gateway_metrics(gw), load.counts()
        hist0 = scalar(engine, sa.select(sa.func.max(_HIST.c.id))) or 0
        rss0 = gstats.rss_mb()
        main0 = own_cpu(gw.proc.pid)
        w0 = time.monotonic()
        r["silenced_at"] = load.silence()
        watch.run(args.minutes * 60)
        seconds = time.monotonic() - w0
        cpu, bcpu, lcpu = gstats.cpu_used(), bstats.cpu_used(), lstats.cpu_used()
        main_cpu = own_cpu(gw.proc.pid) - main0
        m1, (turns1, sent1) = gateway_metrics(gw), load.counts()
        hist1 = scalar(engine, sa.select(sa.func.max(_HIST.c.id))) or 0
        stalest = scalar(engine, sa.select(sa.func.min(_STATUS.c.last_seen))
                         .where(_STATUS.c.device_id.not_in(silent_ids) if silent_ids else sa.true()))
        lag_n = m1["shewu_ack_lag_seconds_count"] - m0["shewu_ack_lag_seconds_count"]
        r.update(seconds=seconds, cpu=cpu / seconds * 100, main_cpu=main_cpu / seconds * 100,
                 broker=bcpu / seconds * 100, load=lcpu / seconds * 100,
                 rss0=rss0, rss=gstats.rss_mb(), window=watch.phase,
                 rate_in=(m1["shewu_messages_in_total"] - m0["shewu_messages_in_total"]) / seconds,
                 ack_lag_ms=(m1["shewu_ack_lag_seconds_sum"] - m0["shewu_ack_lag_seconds_sum"]) / lag_n * 1000
                 if lag_n else float("nan"),
                 batch=(m1["shewu_messages_in_total"] - m0["shewu_messages_in_total"])
                 / max(m1["shewu_ingest_batches_total"] - m0["shewu_ingest_batches_total"], 1),
                 turns_rate=(turns1 - turns0) / seconds, sent_rate=(sent1 - sent0) / seconds,
                 history_per_min=(hist1 - hist0) / seconds * 60,
                 stalest_s=(datetime.now(UTC) - stalest).total_seconds() if stalest else float("nan"))

        # Until every silent device has its ticket, or well past its deadline.
        watch.new_phase()
        give_up = time.monotonic() + max(0.0, r["silenced_at"] + ALLOWANCE_S + 60 - time.time())
        watch.run(max(0.0, give_up - time.monotonic()),
                  until=lambda: all(d in watch.first_seen for d in silent_ids))
        r["first_seen"] = dict(watch.first_seen)
        r["tail"] = watch.phase
    finally:
        gw.stop()
    return r


def tickets(engine: Engine, silent_ids: set[str]) -> dict[str, Any]:
    """The offline orders: latency for the silent devices, false alarms for the others."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(_ORD.c.device_id, _ORD.c.opened_at, _SUP.c.deadline_at, _STATUS.c.last_seen)
            .select_from(_ORD.outerjoin(_SUP, _SUP.c.device_id == _ORD.c.device_id)
                         .outerjoin(_STATUS, _STATUS.c.device_id == _ORD.c.device_id))
            .where(_ORD.c.kind == "offline")).all()
        kinds = dict(conn.execute(sa.select(_ORD.c.kind, sa.func.count()).group_by(_ORD.c.kind)).all())
        history = conn.execute(sa.select(sa.func.count()).select_from(_HIST)).scalar_one()
    mine = {row.device_id: row for row in rows if row.device_id in silent_ids}
    return {"mine": mine, "false": sorted(row.device_id for row in rows if row.device_id not in silent_ids),
            "kinds": kinds, "history": history}


def log_problems(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [line for line in path.read_text(errors="replace").splitlines() if " ERROR " in line or " WARNING " in line]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devices", type=int, default=100_000, help="home units heartbeating (default 100000)")
    ap.add_argument("--minutes", type=float, default=3, help="the measured window, in minutes (default 3)")
    ap.add_argument("--warmup", type=float, default=120,
                    help="seconds of heartbeats from the gateway's start before measuring (default 120); longer "
                         "if supervision has not enrolled every device and worked through its backlog by then")
    ap.add_argument("--silent", type=int, default=100,
                    help="devices that stop at the start of the window: their deadlines make the tickets timed")
    ap.add_argument("--baseline", type=float, default=60,
                    help="seconds the plain paho subscriber receives the same heartbeats (default 60; 0 skips it)")
    ap.add_argument("--qos", type=int, choices=(0, 1), default=1,
                    help="QoS of the heartbeats (default 1: a lost heartbeat would be a false ticket, since the "
                         "grace is shorter than the interval)")
    ap.add_argument("--mqtt-protocol", type=int, choices=(4, 5), default=5,
                    help="MQTT protocol for both consumers: 5 (the gateway's default) or 4 (3.1.1)")
    ap.add_argument("--db", default="", help="database URL for the gateway (default: a fresh SQLite file); "
                                             "use a PostgreSQL database you can throw away")
    args = ap.parse_args()
    if args.devices < 1 or args.minutes <= 0 or not 0 <= args.silent <= args.devices:
        ap.error("need --devices >= 1, --minutes > 0 and 0 <= --silent <= --devices")
    n, k = args.devices, args.silent
    ids = device_ids(n)
    silent = [j * n // k for j in range(k)]  # spread over the minute, so their deadlines are too
    silent_ids = [ids[i] for i in silent]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="shewu-bench-") as tmp:
        work = Path(tmp)
        db_url = args.db or f"sqlite:///{work / 'bench.db'}"
        engine = make_engine(db_url)
        create_schema(engine)
        register_s = register(engine, ids)
        broker = Mosquitto(work / "broker", persistence=False).start()
        load = Load(broker.url, n, silent, args.qos).start()
        result: dict[str, Any] = {}
        try:
            base = run_baseline(args, broker, load) if args.baseline > 0 else None
            g = run_gateway(args, broker, engine, db_url, load, work, n, silent_ids)
        finally:
            result = load.stop()
            broker.stop()
        found = tickets(engine, set(silent_ids))
        size = db_size_mb(engine, db_url)
        problems = log_problems(g["log"])
        engine.dispose()

    rate = n / PERIOD_S
    database = "SQLite" if not args.db else sa.engine.make_url(args.db).get_backend_name()
    protocol = "MQTT 5" if args.mqtt_protocol == 5 else "MQTT 3.1.1"
    print(f"\nFleet supervision ({protocol}, {database}): {n} {MODEL} devices, one heartbeat each every "
          f"{PERIOD_S:.0f} s ({rate:.0f} msg/s, native topic, QoS {args.qos}); deadline = last seen + "
          f"{ALLOWANCE_S:.0f} s")
    print(f"setup: {n} devices registered in {register_s:.1f} s; gateway healthy {g['healthy_s']:.1f} s after "
          f"its start; all enrolled {g['enrolled_s'] or float('nan'):.0f} s after; warm-up {g['warmup_s']:.0f} s "
          f"(due backlog at most {g['warm']['backlog_rows']} rows, the oldest {g['warm']['overdue_s']:.0f} s late"
          f"{'' if g['caught_up'] else '; NOT caught up'})")
    print(f"{'consumer':<42}{'seconds':>8}{'msg/s':>8}{'CPU %':>7}{'RSS MB':>8}{'(end)':>7}"
          f"{'broker %':>10}{'load %':>8}")
    if base is not None:
        print(f"{'plain paho QoS 1 subscriber':<42}{base['seconds']:>8.0f}{base['rate']:>8.0f}{base['cpu']:>7.1f}"
              f"{base['rss_max']:>8.0f}{base['rss']:>7.0f}{base['broker']:>10.1f}{base['load']:>8.1f}")
    print(f"{'shewu gateway, with its ingest worker':<42}{g['seconds']:>8.0f}{g['rate_in']:>8.0f}{g['cpu']:>7.1f}"
          f"{g['window']['rss_max']:>8.0f}{g['rss']:>7.0f}{g['broker']:>10.1f}{g['load']:>8.1f}")
    print(f"(CPU as % of one core: the gateway process {g['main_cpu']:.1f} (receiving, supervision, API), its "
          f"children {g['cpu'] - g['main_cpu']:.1f} (the ingest worker); msg/s: those it committed; RSS at the "
          f"window's start {g['rss0']:.0f} MB)")
    print(f"load: {g['sent_rate']:.0f} msg/s published in the window ({g['turns_rate']:.0f} turns/s for a target "
          f"of {rate:.0f}, {k} devices silent); {result.get('published', 0)} in all, broker acknowledged "
          f"{'all' if result.get('all_acked') else 'NOT all'}")
    print(f"ingest: mean ack lag {g['ack_lag_ms']:.1f} ms, {g['batch']:.1f} messages a batch; the stalest "
          f"heartbeating device last seen {g['stalest_s']:.0f} s before the window's end")
    w = g["window"]
    print(f"supervision in the window: due backlog at most {w['backlog_rows']} rows, the oldest due deadline at most "
          f"{w['overdue_s']:.1f} s late (sampled every 2 s); device_history {g['history_per_min']:.0f} rows/min; "
          f"/healthz not 200 in {w['health_bad'] + g['warm']['health_bad'] + g['tail']['health_bad']} of "
          f"{w['health_n'] + g['warm']['health_n'] + g['tail']['health_n']} checks")
    mine, last = found["mine"], result.get("last", {})
    opened = [(row.opened_at - row.deadline_at).total_seconds() for row in mine.values()]
    seen = [g["first_seen"][d] - row.deadline_at.timestamp() for d, row in mine.items() if d in g["first_seen"]]
    exact = sum(1 for d, row in mine.items()
                if row.last_seen is not None and d in last
                and abs((row.deadline_at - row.last_seen).total_seconds() - ALLOWANCE_S) < 0.002
                and abs(row.last_seen.timestamp() - last[d]) < 0.002)
    print(f"missed deadline -> offline ticket: {len(mine)} of {k} silent devices ({k - len(mine)} missing); "
          f"deadline = last heartbeat published + {ALLOWANCE_S:.0f} s for {exact} of them")
    print(f"{'':<4}{'':<48}{'p50 s':>8}{'p99 s':>8}{'max s':>8}")
    pass_s = [g["first_seen"][d] - row.opened_at.timestamp() for d, row in mine.items() if d in g["first_seen"]]
    for name, values in (("deadline -> order's opened_at", opened),
                         ("deadline -> order seen in the DB (0.25 s poll)", seen),
                         ("opened_at -> seen (the pass and its commit)", pass_s)):
        print(f"{'':<4}{name:<48}{percentile(values, 50):>8.2f}{percentile(values, 99):>8.2f}"
              f"{max(values) if values else float('nan'):>8.2f}")
    others = {kind: count for kind, count in found["kinds"].items() if kind != "offline"}
    print(f"false alarms (offline orders for heartbeating devices): {len(found['false'])}"
          f"{' e.g. ' + ', '.join(found['false'][:5]) if found['false'] else ''}; other orders: {others or 0}")
    print(f"after the run: database {size or float('nan'):.0f} MB, device_history {found['history']} rows; "
          f"gateway log: {len(problems)} warnings/errors; total {time.monotonic() - started:.0f} s")
    for line in list(dict.fromkeys(p.split(": ", 1)[-1][:160] for p in problems))[:5]:
        print(f"    {line}")


if __name__ == "__main__":
    main()
