"""Scheduler fire lag: 10,000 open orders with their escalation ladders; how late each step
fires after its due time (p50, p99), and the CPU the scheduler costs.

Orders are opened so that their first steps fall due over the measured window; the scheduler
polls every --interval seconds (the gateway's default is 1 s) on the real clock.

    python bench/scheduler_lag.py [--orders 10000] [--window 20] [--db URL]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import percentile

from device_adapters.events import DeviceEvent, EventKind
from gateway.clock import utc_now
from gateway.scheduler import Scheduler
from gateway.services.events import apply_events
from gateway.storage.db import create_schema, make_engine, session


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orders", type=int, default=10000)
    ap.add_argument("--window", type=float, default=20.0, help="seconds over which the first steps fall due")
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--lead", type=float, default=20.0, help="seconds before the first step is due (covers setup)")
    ap.add_argument("--db", default="")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="shewu-bench-") as tmp:
        engine = make_engine(args.db or f"sqlite:///{Path(tmp) / 'sched.db'}")
        create_schema(engine)
        start = datetime.now(UTC) + timedelta(seconds=args.lead)  # first due times begin after the setup
        # an SOS opened at t has its first step (ack_overdue) due at t + 60 s
        events = [
            DeviceEvent(device_id=f"bench-{i}", kind=EventKind.SOS, source="native",
                        at=start - timedelta(seconds=60) + timedelta(seconds=args.window * i / args.orders))
            for i in range(args.orders)
        ]
        t = time.perf_counter()
        for i in range(0, len(events), 1000):
            chunk = events[i:i + 1000]
            with session(engine) as s:
                apply_events(s, chunk, now=chunk[-1].at)
                s.commit()
        setup = time.perf_counter() - t
        if datetime.now(UTC) > start:
            raise SystemExit(f"setup took {setup:.0f} s, longer than --lead {args.lead:.0f} s: raise --lead")
        lags: list[float] = []
        scheduler = Scheduler(engine=engine, clock=utc_now, instance="bench", interval=args.interval,
                              on_fired=lambda fired: lags.extend(f.late_s for f in fired))
        cpu0 = time.process_time()
        scheduler.start()
        span = (start - datetime.now(UTC)).total_seconds() + args.window + 3
        deadline = time.monotonic() + span
        while time.monotonic() < deadline:
            time.sleep(0.2)
        scheduler.stop()
        cpu = time.process_time() - cpu0
        engine.dispose()
    lags_ms = [x * 1000 for x in lags]
    print(f"\nScheduler: {args.orders} open orders ({args.orders * 5} ladder steps), first steps due over "
          f"{args.window:.0f} s, poll every {args.interval:g} s ({args.db or 'SQLite'}); setup {setup:.1f} s")
    print(f"steps fired {len(lags)}; fire lag (due -> fired) p50 {percentile(lags_ms, 50):.0f} ms, "
          f"p99 {percentile(lags_ms, 99):.0f} ms, max {max(lags_ms, default=float('nan')):.0f} ms")
    print(f"scheduler CPU {cpu:.2f} s over {span:.0f} s ({cpu / span * 100:.1f} % of one core)")


if __name__ == "__main__":
    main()
