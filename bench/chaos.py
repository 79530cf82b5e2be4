"""Chaos bench: alarms from many devices through Shewu's edges while the infrastructure fails.

Alarms (SOS) and telemetry from ``--devices`` devices go through ``shewu bridge serial``
processes reading ptys, a home-unit publisher on the native topic (unique event ids) and
Zigbee2MQTT state JSON, into a private Mosquitto and ``shewu serve`` (two instances sharing a
``$share`` subscription on PostgreSQL, one on SQLite), while faults are injected at seeded random
moments: the broker restarted, the broker SIGKILLed with its persistence file deleted, the
gateway SIGKILLed and restarted, PostgreSQL restarted, the database made read-only (PostgreSQL)
or its disk filled (SQLite on a small tmpfs), the second instance SIGKILLed while the first
carries on. Then it counts, per database, what the edges had handed over and never became an
order (lost), what was applied twice (doubled), and how long alarms and faults took.

    python bench/chaos.py --smoke                  # well under a minute, SQLite, two faults
    python bench/chaos.py --db both --seed 7        # the full run: 10,000 alarms per database

Needs Mosquitto, PostgreSQL's server binaries (for ``postgres``) and root (tmpfs for the SQLite
disk-full fault; PostgreSQL then runs as the ``postgres`` user). Never touches the shared
servers on 5432/1883: its broker and cluster are its own, on free ports, in a temp directory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from _common import ROOT, GatewayProcess, Mosquitto, percentile

from _chaos_infra import (  # isort: skip  (after _common, which puts the project on sys.path)
    PgCluster, SmallDisk, kill_broker_and_lose_state, kill_gateway, pg_bin, start_gateway,
)
from _chaos_observe import (  # isort: skip
    LATE, FaultFigures, FaultRecord, Watcher, fault_figures, final_scan, latencies,
)
from _chaos_traffic import SOURCES, Dispatcher, Traffic  # isort: skip

ALL_FAULTS = {
    "broker_restart": "broker restarted (SIGTERM: it saves its state)",
    "broker_kill_state_lost": "broker SIGKILLed, persistence file deleted",
    "gateway_kill": "gateway (every instance) SIGKILLed, restarted",
    "pg_restart": "PostgreSQL restarted (fast shutdown)",
    "db_read_only": "PostgreSQL read-only (default_transaction_read_only, sessions cut)",
    "disk_full": "SQLite's filesystem filled to the last byte",
    "instance_kill": "second instance SIGKILLed, first carries on",
}
FOR_DB = {
    "sqlite": ["broker_restart", "broker_kill_state_lost", "gateway_kill", "disk_full"],
    "postgres": ["broker_restart", "broker_kill_state_lost", "gateway_kill", "pg_restart", "db_read_only",
                 "instance_kill"],
}
HELD = {"db_read_only", "disk_full", "instance_kill"}  # faults that last a while before they are undone
SMOKE_FAULTS = "gateway_kill,broker_kill_state_lost"
DISPATCHER = "chaos-dispatcher"
LEGEND = """
lost: handed to an edge (written to a serial receiver, or PUBACKed to the publisher), and no timeline row for it.
doubled: one alarm applied twice (Zigbee2MQTT carries no event id), or a second open order for one device and kind.
late: alarms whose order became visible more than a second after they were sent.
held: fault injected -> its cause undone (broker up, gateway healthy, database writable again).
stall: the longest gap between commits from the fault to its recovery.
recover: fault injected -> the first commit of an alarm sent after its cause was undone.
worst: the longest alarm -> order among the alarms charged to that fault: those sent after it was injected (or
  less than 2 s before) and before the next fault."""


@dataclass
class Outcome:
    db: str
    setup: str
    sent: int = 0
    by_source: Counter[str] = field(default_factory=Counter)
    telemetry: int = 0
    devices: int = 0
    orders: int = 0
    lost: Counter[str] = field(default_factory=Counter)
    lost_dead_lettered: Counter[str] = field(default_factory=Counter)
    doubled_applied: Counter[str] = field(default_factory=Counter)
    doubled_open: int = 0
    unconfirmed: int = 0
    latency: list[float] = field(default_factory=list)
    faults: list[FaultFigures] = field(default_factory=list)
    dead_letters: Counter[str] = field(default_factory=Counter)
    cancelled: int = 0
    log_errors: int = 0
    seconds: float = 0.0
    started: float = 0.0  # time.time() when sending began
    notes: list[str] = field(default_factory=list)


class Run:
    """One database: its infrastructure, traffic and faults."""

    def __init__(self, db: str, args: argparse.Namespace, work: Path) -> None:
        self.db = db
        self.args = args
        self.work = work
        self.rng = random.Random(f"{args.seed}-{db}-faults")
        self.broker = Mosquitto(work / "broker")
        self.cluster: PgCluster | None = None
        self.disk: SmallDisk | None = None
        self.gateways: list[GatewayProcess] = []
        self.traffic: Traffic | None = None
        self.watcher: Watcher | None = None
        self.dispatcher: Dispatcher | None = None
        self.records: list[FaultRecord] = []
        self.notes: list[str] = []
        self.db_url = ""

    # --- setup -------------------------------------------------------------------------------

    def _database(self) -> str:
        if self.db == "postgres":
            self.cluster = PgCluster(self.work / "pg").init()
            self.cluster.start()
            return self.cluster.create_db("shewu")
        disk = SmallDisk(self.work / "disk", self.args.sqlite_disk_mb)
        try:
            self.disk = disk.mount()
            where = disk.path
        except (subprocess.CalledProcessError, OSError) as exc:
            self.notes.append(f"no tmpfs for SQLite ({exc}); disk_full skipped")
            where = self.work
        return f"sqlite:///{where / 'shewu.db'}"

    def setup(self) -> str:
        self.broker.start()
        self.db_url = self._database()
        instances = 2 if self.db == "postgres" else 1
        group = "chaos" if instances > 1 else ""
        for name in "ab"[:instances]:
            self.gateways.append(GatewayProcess(mqtt_url=self.broker.url, db_url=self.db_url, log_dir=self.work,
                                                instance_id=f"chaos-{self.db}-{name}", shared_group=group))
        for gw in self.gateways:
            start_gateway(gw)
        password = secrets.token_urlsafe(18)
        subprocess.run([sys.executable, "-m", "gateway.cli", "user", "add", DISPATCHER, "--role", "dispatcher",
                        "--password-stdin", "--db", self.db_url], input=password + "\n", text=True, check=True,
                       capture_output=True, cwd=ROOT)
        self.dispatcher = Dispatcher([gw.base_url for gw in self.gateways], DISPATCHER, password,
                                     per_second=self.args.cancel_rate)
        self.watcher = Watcher(self.db_url)
        a = self.args
        self.traffic = Traffic(self.broker, self.work, devices=a.devices, alarms=a.alarms, alarm_rate=a.alarm_rate,
                               telemetry_rate=a.telemetry_rate, receivers=a.receivers, seed=a.seed)
        where = "PostgreSQL (own cluster)" if self.db == "postgres" else (
            f"SQLite on a {a.sqlite_disk_mb} MB tmpfs" if self.disk else "SQLite")
        return f"{where}, {instances} gateway instance{'s' if instances > 1 else ''}, {a.receivers} serial bridges"

    # --- faults ------------------------------------------------------------------------------

    def schedule(self) -> list[tuple[float, str, float]]:
        """(seconds after the start, fault, hold) for every fault, in a seeded random order,
        each at a random moment in its own slot of the sending time."""
        chosen = [f for f in self.args.faults.split(",") if f] if self.args.faults else list(FOR_DB[self.db])
        names = [f for f in chosen if f in FOR_DB[self.db]]
        if self.db == "sqlite" and self.disk is None:
            names = [f for f in names if f != "disk_full"]
        names = names * self.args.rounds
        self.rng.shuffle(names)
        assert self.traffic is not None
        slot = 0.85 * self.traffic.duration / max(1, len(names))  # a tail without faults shows the last one heal
        plan = []
        for i, name in enumerate(names):
            at = slot * i + self.rng.uniform(0.1, 0.4) * slot
            hold = min(self.rng.uniform(self.args.hold_min, self.args.hold_max), max(2.0, 0.45 * slot))
            plan.append((at, name, hold if name in HELD else 0.0))
        return plan

    def inject(self, name: str, hold: float) -> FaultRecord:
        rec = FaultRecord(name, time.time())
        try:
            if name == "broker_restart":
                self.broker.stop()
                self.broker.start()
            elif name == "broker_kill_state_lost":
                kill_broker_and_lose_state(self.broker)
            elif name == "gateway_kill":
                for gw in self.gateways:
                    kill_gateway(gw)
                for gw in self.gateways:
                    start_gateway(gw)
            elif name == "pg_restart":
                assert self.cluster is not None
                self.cluster.restart()
            elif name == "db_read_only":
                assert self.cluster is not None
                self.cluster.set_read_only(True)
                time.sleep(hold)
                self.cluster.set_read_only(False)
            elif name == "disk_full":
                assert self.disk is not None
                filled = self.disk.fill()
                rec.note = f"{filled / 2**20:.1f} MB filler"
                time.sleep(hold)
                self.disk.free()
            elif name == "instance_kill":
                kill_gateway(self.gateways[-1])
                rec.healed = rec.injected  # the first instance carries on: nothing to wait for
                time.sleep(hold)
                start_gateway(self.gateways[-1])
                rec.note = f"back after {time.time() - rec.injected:.1f} s"
                return rec
            rec.healed = time.time()
        except Exception as exc:  # report it, and put things back as well as we can
            rec.error = f"{type(exc).__name__}: {exc}"[:200]
            self._repair()
            rec.healed = time.time()
        return rec

    def _repair(self) -> None:
        if self.broker.proc is None or self.broker.proc.poll() is not None:
            self.broker.proc = None
            self.broker.start()
        if self.cluster is not None:
            self.cluster.set_read_only(False)
        if self.disk is not None:
            self.disk.free()
        for gw in self.gateways:
            if gw.proc is None or gw.proc.poll() is not None:
                gw.proc = None
                start_gateway(gw)

    def _inject_all(self, plan: list[tuple[float, str, float]], t0: float) -> None:
        for at, name, hold in plan:
            wait = t0 + at - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            else:
                time.sleep(1.0)  # the previous fault ran past this one's moment: a breath between them
            self.records.append(self.inject(name, hold))

    # --- the run -----------------------------------------------------------------------------

    def _quiet(self, last_change: float, quiet_s: float) -> bool:
        assert self.traffic is not None and self.watcher is not None
        every = all(a.key in self.watcher.first_seen for a in self.traffic.sent)
        if every:
            return True
        if self.traffic.unconfirmed_at_edges():
            return False
        return time.monotonic() - last_change > quiet_s

    def go(self) -> Outcome:
        started = time.monotonic()
        setup = self.setup()
        assert self.traffic is not None and self.watcher is not None and self.dispatcher is not None
        plan = self.schedule()
        print(f"[{self.db}] {setup}; {self.traffic.total_alarms} alarms at {self.args.alarm_rate:g}/s from "
              f"{self.traffic.device_count} devices; faults: "
              f"{', '.join(f'{n}@{at:.0f}s' for at, n, _ in plan) or 'none'}", flush=True)
        self.watcher.start()
        self.dispatcher.start()
        t0 = time.monotonic()
        wall0 = time.time()
        self.traffic.start()
        injector = threading.Thread(target=self._inject_all, args=(plan, t0), daemon=True)
        injector.start()
        limit = time.monotonic() + 2 * self.traffic.duration + 300
        if not self.traffic.wait(max(1.0, limit - time.monotonic())):
            self.notes.append(f"sending stalled: {len(self.traffic.sent)} alarms sent when the bench gave up")
        injector.join(max(1.0, limit - time.monotonic()))
        if injector.is_alive():
            self.notes.append("a fault never finished: the figures are as far as the run got")
        seen, last_change = -1, time.monotonic()
        deadline = time.monotonic() + self.args.drain_timeout
        while time.monotonic() < deadline:
            n = len(self.watcher.first_seen)
            if n != seen:
                seen, last_change = n, time.monotonic()
            if self._quiet(last_change, self.args.quiet):
                break
            time.sleep(0.5)
        else:
            self.notes.append(f"drain timed out after {self.args.drain_timeout:.0f} s")
        self.dispatcher.stop()
        self.watcher.stop()
        final_t = time.time()
        out = self._figures(setup, final_t, wall0)
        out.seconds = time.monotonic() - started
        return out

    def _figures(self, setup: str, final_t: float, wall0: float) -> Outcome:
        assert self.traffic is not None and self.watcher is not None and self.dispatcher is not None
        traffic = self.traffic
        unconfirmed = traffic.unconfirmed_at_edges()
        scan = final_scan(self.db_url, {d for ds in traffic.devices.values() for d in ds})
        out = Outcome(self.db, setup, sent=len(traffic.sent), telemetry=traffic.telemetry_sent,
                      devices=traffic.device_count, orders=scan.orders, doubled_open=scan.open_duplicates,
                      unconfirmed=len(unconfirmed), dead_letters=scan.dead_letters,
                      cancelled=self.dispatcher.cancelled, notes=self.notes)
        lost: set[str] = set()
        doubled: Counter[str] = Counter()
        for a in traffic.sent:
            out.by_source[a.source] += 1
            rows = scan.rows_per_key.get(a.key, 0)
            if rows == 0 and a.key not in unconfirmed:
                lost.add(a.key)
                out.lost[a.source] += 1
                if a.key in scan.dead_keys:
                    out.lost_dead_lettered[scan.dead_keys[a.key]] += 1
            if rows > 1:
                doubled[a.key] = rows - 1
                out.doubled_applied[a.source] += rows - 1
        if self.args.keep:
            (self.work / "lost.json").write_text(json.dumps(
                [{"key": a.key, "source": a.source, "device": a.device, "sent": round(a.sent - wall0, 3),
                  "acked": a.acked and round(a.acked - wall0, 3)} for a in traffic.sent if a.key in lost], indent=1))
            if self.disk is not None:
                for f in self.disk.path.glob("shewu.db*"):
                    shutil.copy(f, self.work / f.name)
        found = [a for a in traffic.sent if scan.rows_per_key.get(a.key)]
        lat = latencies(found, self.watcher.first_seen, final_t)
        out.latency = list(lat.values())
        out.started = wall0
        out.faults = fault_figures(self.records, traffic.sent, self.watcher.first_seen, self.watcher.commits, lost,
                                   doubled, lat)
        for log in self.work.glob("chaos-*.log"):
            out.log_errors += sum(1 for line in log.read_text(errors="replace").splitlines() if " ERROR " in line)
        return out

    def close(self) -> None:
        for step in (lambda: self.dispatcher and self.dispatcher.stop(),
                     lambda: self.watcher and self.watcher.stop(),
                     lambda: self.traffic and self.traffic.stop(),
                     *[gw.stop for gw in self.gateways],
                     self.broker.stop,
                     lambda: self.cluster and self.cluster.close(),
                     lambda: self.disk and self.disk.close()):
            try:
                step()
            except Exception as exc:  # keep cleaning up
                print(f"cleanup: {type(exc).__name__}: {exc}", file=sys.stderr)


# --- report --------------------------------------------------------------------------------------


def _fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def _split(counter: Counter[str]) -> str:
    parts = [f"{s} {counter[s]}" for s in SOURCES if counter[s]]
    return f" ({', '.join(parts)})" if parts else ""


def report(o: Outcome) -> None:
    lost = sum(o.lost.values())
    doubled = sum(o.doubled_applied.values()) + o.doubled_open
    print(f"\n== {o.db}: {o.setup} ({o.seconds:.0f} s) ==")
    print(f"alarms sent              {o.sent}{_split(o.by_source)} from {o.devices} devices, "
          f"with {o.telemetry} telemetry messages")
    print(f"orders opened            {o.orders} (the dispatcher cancelled {o.cancelled} as false alarms)")
    dead = ", ".join(f"{n} dead-lettered {r!r}" for r, n in o.lost_dead_lettered.items())
    print(f"lost                     {lost}{_split(o.lost)}{'; ' + dead if dead else ''}")
    own = sum(n for source, n in o.lost.items() if source != "z2m")
    print(f"  of them from Shewu's own edges (serial, home unit): {own}; from Zigbee2MQTT, which keeps nothing "
          f"once the broker has it: {o.lost.get('z2m', 0)}")
    print(f"doubled                  {doubled}: applied twice {sum(o.doubled_applied.values())}"
          f"{_split(o.doubled_applied)}, second open order {o.doubled_open}")
    print(f"still held by an edge    {o.unconfirmed} (not yet confirmed by the gateway at the end: neither lost "
          "nor committed)")
    lat = o.latency
    print(f"alarm sent -> order      p50 {_fmt(percentile(lat, 50), '.2f')} s, p99 {_fmt(percentile(lat, 99), '.2f')}"
          f" s, longest without an order {_fmt(max(lat) if lat else None, '.1f')} s; "
          f"{sum(1 for x in lat if x > LATE)} took over {LATE:g} s")
    print(f"dead letters             {dict(o.dead_letters) or 0}; gateway log ERROR lines {o.log_errors}")
    for note in o.notes:
        print(f"note                     {note}")
    print(f"\n{'fault':<24}{'at s':>6}{'held s':>8}{'stall s':>9}{'recover s':>11}{'lost':>6}{'doubled':>9}"
          f"{'late':>6}{'worst s':>9}  note")
    for f in o.faults:
        r = f.record
        note = r.note + (f" ERROR {r.error}" if r.error else "")
        if f.lost_sent:
            note += f" lost ones sent {min(f.lost_sent):+.1f}..{max(f.lost_sent):+.1f} s from the fault"

        print(f"{r.name:<24}{r.injected - o.started:>6.0f}{_fmt(f.held):>8}{_fmt(f.stall):>9}"
              f"{_fmt(f.recovered):>11}{f.lost:>6}"
              f"{f.doubled:>9}{f.late:>6}{_fmt(f.worst_latency):>9}  {note}")


def summary(outcomes: list[Outcome]) -> None:
    print(f"\n{'database':<10}{'alarms':>8}{'orders':>8}{'lost':>6}{'doubled':>9}{'late':>6}{'longest s':>11}"
          f"{'p99 s':>8}")
    for o in outcomes:
        doubled = sum(o.doubled_applied.values()) + o.doubled_open
        late = sum(1 for x in o.latency if x > LATE)
        print(f"{o.db:<10}{o.sent:>8}{o.orders:>8}{sum(o.lost.values()):>6}{doubled:>9}{late:>6}"
              f"{_fmt(max(o.latency) if o.latency else None):>11}{_fmt(percentile(o.latency, 99), '.2f'):>8}")
    print(LEGEND)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), help="default: both (smoke: sqlite)")
    ap.add_argument("--seed", type=int, default=1, help="seeds the traffic and the faults' order and moments")
    ap.add_argument("--smoke", action="store_true", help="small counts and two faults, well under a minute")
    ap.add_argument("--alarms", type=int, help="alarms per database (default 10000; smoke 300)")
    ap.add_argument("--devices", type=int, help="devices (default 1000; smoke 100)")
    ap.add_argument("--alarm-rate", type=float, help="alarms per second (default 40; smoke 30)")
    ap.add_argument("--telemetry-rate", type=float, help="telemetry messages per second (default 80; smoke 30)")
    ap.add_argument("--receivers", type=int, default=2, help="serial bridges (default 2)")
    ap.add_argument("--faults", help=f"comma-separated, of: {', '.join(ALL_FAULTS)} (default: all that apply; "
                                     f"smoke: {SMOKE_FAULTS})")
    ap.add_argument("--rounds", type=int, help="times each fault is injected (default 2; smoke 1)")
    ap.add_argument("--hold-min", type=float, default=4.0, help="shortest hold of a lasting fault, s")
    ap.add_argument("--hold-max", type=float, default=10.0, help="longest hold of a lasting fault, s")
    ap.add_argument("--cancel-rate", type=float, default=10, help="orders the dispatcher cancels per second")
    ap.add_argument("--sqlite-disk-mb", type=int, default=256, help="size of the SQLite tmpfs")
    ap.add_argument("--drain-timeout", type=float, default=120, help="wait at most this long after sending")
    ap.add_argument("--quiet", type=float, default=10, help="end the drain after this long without a new order row")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs) and print its path")
    args = ap.parse_args(argv)
    smoke = args.smoke
    defaults = {"db": "sqlite" if smoke else "both", "alarms": 300 if smoke else 10000,
                "devices": 100 if smoke else 1000, "alarm_rate": 30.0 if smoke else 40.0,
                "telemetry_rate": 30.0 if smoke else 80.0, "rounds": 1 if smoke else 2,
                "faults": SMOKE_FAULTS if smoke else ""}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if smoke:
        args.quiet = min(args.quiet, 4.0)
    unknown = [f for f in args.faults.split(",") if f and f not in ALL_FAULTS]
    if unknown:
        ap.error(f"unknown fault(s): {', '.join(unknown)}")
    return args


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # run the clean-up: our broker, cluster, gateways, bridges, tmpfs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in dbs and pg_bin() is None:
        print("PostgreSQL server binaries not found; running SQLite only", file=sys.stderr)
        dbs = [d for d in dbs if d != "postgres"]
    outcomes = []
    for db in dbs:
        work = Path(tempfile.mkdtemp(prefix=f"shewu-chaos-{db}-"))
        os.chmod(work, 0o755)  # the postgres user must reach its cluster under it
        run = Run(db, args, work)
        try:
            outcomes.append(run.go())
        finally:
            run.close()
            if args.keep:
                print(f"[{db}] logs kept in {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)
        report(outcomes[-1])
    summary(outcomes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
