"""Scheduler fire lag: 10,000 open orders with their escalation ladders; how late each step
fires after its due time, how late its notification reaches a webhook receiver (p50, p99),
and the CPU the scheduler and the notification sender cost.

Orders are opened (their times set ahead) so that their first steps fall due over the measured
window. The scheduler polls every --interval seconds (the gateway's default is 1 s) on the real
clock, resolves each step's audience through the on-call rota and queues a notification for a
webhook channel; the sender delivers it to an HTTP receiver in another process, which notes when
it arrived.

    python bench/scheduler_lag.py [--orders 10000] [--window 20] [--db URL]
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from _common import percentile

from device_adapters.events import DeviceEvent, EventKind
from gateway.clock import utc_now
from gateway.domain.ladders import STEPS_BY_NAME
from gateway.domain.rota import Shift
from gateway.notify import outbox
from gateway.notify.dispatcher import NotifySender
from gateway.notify.models import NotifyChannel
from gateway.scheduler import Scheduler
from gateway.services.accounts import create_user
from gateway.services.events import apply_events
from gateway.services.notices import Notifier
from gateway.services.rota import replace_weekly
from gateway.storage.db import create_schema, make_engine, session


def _receive(port_out: Any, results: Any, stop: Any) -> None:
    """A webhook receiver in its own process: answers 200 and notes each body's arrival time."""
    import json
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    arrivals: list[tuple[float, dict[str, Any]]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the robots' servers do

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            arrivals.append((time.time(), json.loads(body)["data"]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_a: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_out.send(server.server_address[1])
    server.timeout = 0.2
    while not stop.is_set():
        server.handle_request()
    results.send(arrivals)


def seed_people(engine: Any, url: str, now: datetime) -> None:
    """A dispatcher and a duty leader on duty around the clock, and a webhook channel."""
    with session(engine) as s:
        create_user(s, name="duty", role="dispatcher", password=None, now=now)
        create_user(s, name="chen", role="dispatcher", password=None, now=now)
        replace_weekly(s, shifts=[Shift(d, "00:00", "24:00", "duty", "dispatcher") for d in range(7)]
                       + [Shift(d, "00:00", "24:00", "chen", "leader") for d in range(7)], now=now, by="bench")
        outbox.save_channel(s, channel=NotifyChannel(name="bench-hook", kind="webhook", url=url, audiences=["*"]),
                            now=now)
        s.commit()


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
        port_r, port_w = multiprocessing.Pipe(duplex=False)
        res_r, res_w = multiprocessing.Pipe(duplex=False)
        stop_receiver = multiprocessing.Event()
        receiver = multiprocessing.Process(target=_receive, args=(port_w, res_w, stop_receiver), daemon=True)
        receiver.start()
        seed_people(engine, f"http://127.0.0.1:{port_r.recv()}/hook", datetime.now(UTC))
        start = datetime.now(UTC) + timedelta(seconds=args.lead)  # first due times begin after the setup
        # an SOS opened at t has its first steps (auto_dispatch, void here; raised) due at t
        events = [
            DeviceEvent(device_id=f"bench-{i}", kind=EventKind.SOS, source="native",
                        at=start + timedelta(seconds=args.window * i / args.orders))
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
        sender = NotifySender(engine=engine, clock=utc_now, instance="bench", interval=args.interval)
        notifier = Notifier(time_zone=ZoneInfo("Asia/Shanghai"))

        def fired(steps: list[Any]) -> None:
            lags.extend(f.late_s for f in steps)
            sender.wake()

        scheduler = Scheduler(engine=engine, clock=utc_now, instance="bench", interval=args.interval,
                              on_fired=fired, on_step=notifier.on_steps)
        cpu0 = time.process_time()
        scheduler.start()
        sender.start()
        span = (start - datetime.now(UTC)).total_seconds() + args.window + 3
        deadline = time.monotonic() + span
        while time.monotonic() < deadline:
            time.sleep(0.2)
        scheduler.stop()
        sender.stop()
        cpu = time.process_time() - cpu0
        stop_receiver.set()
        arrivals = res_r.recv()
        receiver.join(5)
        engine.dispose()
    sent_ms = [
        (at - (datetime.fromisoformat(d["opened_at"].replace("Z", "+00:00"))
               + STEPS_BY_NAME[(d["order_kind"], d["step"])].after).timestamp()) * 1000
        for at, d in arrivals
    ]
    lags_ms = [x * 1000 for x in lags]
    print(f"\nScheduler: {args.orders} open orders ({args.orders * 7} ladder steps, automatic dispatch off), "
          f"first steps due over {args.window:.0f} s, poll every {args.interval:g} s ({args.db or 'SQLite'}); "
          f"setup {setup:.1f} s")
    print(f"steps fired {len(lags)}; fire lag (due -> fired) p50 {percentile(lags_ms, 50):.0f} ms, "
          f"p99 {percentile(lags_ms, 99):.0f} ms, max {max(lags_ms, default=float('nan')):.0f} ms")
    print(f"notifications received {len(sent_ms)}; due -> sent (webhook received) p50 "
          f"{percentile(sent_ms, 50):.0f} ms, p99 {percentile(sent_ms, 99):.0f} ms, "
          f"max {max(sent_ms, default=float('nan')):.0f} ms")
    print(f"scheduler + sender CPU {cpu:.2f} s over {span:.0f} s ({cpu / span * 100:.1f} % of one core)")


if __name__ == "__main__":
    main()
