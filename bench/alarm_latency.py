"""Alarm latency: SOS publish → order on the live feed, while telemetry flows.

A load process publishes telemetry (half native, half Zigbee2MQTT state) at --rate msg/s and
SOS alarms from unique devices at --alarm-rate/s, noting each alarm's publish time. A
WebSocket client on the gateway's live feed notes when each order arrives. In the same run, a
plain paho subscriber notes when each SOS message itself arrives from the broker: the floor
that any consumer pays. Target: p99 ≤ 25 ms at 100 alarms/s with 5,000 telemetry msg/s.

    python bench/alarm_latency.py [--rate 5000] [--alarm-rate 100] [--duration 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import websockets
from _common import ROOT, GatewayProcess, Mosquitto, ProcStats, cookie_header, percentile, sign_in


def load_process(
    url: str, rate: float, alarm_rate: float, duration: float, prefix: str, out: Path, telemetry_qos: int,
    transport: str = "raw",
) -> subprocess.Popen[str]:
    code = (
        "import json; from firmware_sim.load import run_load; "
        f"r = run_load({url!r}, rate={rate}, duration={duration}, alarm_rate={alarm_rate}, devices=2000, "
        f"alarm_prefix={prefix!r}, telemetry_qos={telemetry_qos}, transport={transport!r}); "
        f"open({str(out)!r}, 'w').write(json.dumps({{'published': r.alarm_publish_ns, 'sent': r.sent, "
        "'rate': r.achieved_rate, 'all_acked': r.all_acked}))"
    )
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, text=True)


def live_listener(port: int, prefix: str, arrivals: dict[str, int], ready: threading.Event,
                  stop: threading.Event, cookies: dict[str, str]) -> None:
    async def run() -> None:
        async with websockets.connect(f"ws://127.0.0.1:{port}/api/live", max_size=None,
                                      additional_headers=cookie_header(cookies)) as ws:
            await ws.recv()  # snapshot
            ready.set()
            while not stop.is_set():
                try:
                    text = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                t = time.time_ns()
                msg = json.loads(text)
                if msg.get("type") == "order" and msg.get("event") == "opened":
                    device = msg["order"]["device_id"]
                    if device.startswith(prefix):
                        arrivals.setdefault(device, t)

    asyncio.run(run())


def summary(name: str, published: dict[str, int], arrivals: dict[str, int]) -> str:
    lat = [(arrivals[d] - t) / 1e6 for d, t in published.items() if d in arrivals]
    missing = len(published) - len(lat)
    return (f"{name:<44}{len(lat):>8}{missing:>8}{percentile(lat, 50):>9.1f}{percentile(lat, 90):>9.1f}"
            f"{percentile(lat, 99):>9.1f}{max(lat) if lat else float('nan'):>9.1f}")


def run_plain_phase(url: str, args: argparse.Namespace, work: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Phase 1: only the plain subscriber consumes. Its arrival times are the broker-hop floor."""
    prefix = f"hop-{uuid.uuid4().hex[:6]}-"
    plain = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "plain_subscriber.py"), "--url", url, "--client-id", f"plain-{prefix}",
         "--expect", "0", "--record", prefix, "--protocol", str(args.mqtt_protocol)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert plain.stdout is not None and plain.stdin is not None
    try:
        plain.stdout.readline()  # ready
        out = work / "plain-load.json"
        load_process(url, args.rate, args.alarm_rate, args.duration, prefix, out, args.telemetry_qos,
                         args.load_transport).wait()
        time.sleep(2)
        plain.stdin.close()
        recorded: dict[str, int] = json.loads(plain.stdout.read().strip().splitlines()[-1])["recorded"]
    finally:
        if plain.poll() is None:
            plain.kill()
    return json.loads(out.read_text())["published"], recorded


def run_gateway_phase(url: str, args: argparse.Namespace, work: Path) -> dict[str, object]:
    """Phase 2: only the gateway consumes; a WebSocket client notes each order's arrival."""
    prefix = f"lat-{uuid.uuid4().hex[:6]}-"
    gw = GatewayProcess(mqtt_url=url, db_url=args.db or f"sqlite:///{work / 'bench.db'}", log_dir=work,
                        instance_id="bench-latency", protocol=args.mqtt_protocol)
    try:
        gw.start()
        assert gw.proc is not None
        arrivals: dict[str, int] = {}
        ready, stop = threading.Event(), threading.Event()
        cookies = sign_in(gw)  # the board's dispatcher, signed in as a person does
        listener = threading.Thread(target=live_listener, args=(gw.port, prefix, arrivals, ready, stop, cookies))
        listener.start()
        if not ready.wait(10):
            raise SystemExit("the live feed did not answer with its snapshot")
        stats = ProcStats(gw.proc.pid)
        out = work / "load.json"
        load = load_process(url, args.rate, args.alarm_rate, args.duration, prefix, out, args.telemetry_qos,
                         args.load_transport)
        rss = 0.0
        while load.poll() is None:
            rss = max(rss, stats.rss_mb())
            time.sleep(0.1)
        cpu = stats.cpu_used()
        result = json.loads(out.read_text())
        deadline = time.monotonic() + 30
        while len(arrivals) < len(result["published"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        listener.join(5)
    finally:
        gw.stop()
    return {"published": result["published"], "arrivals": arrivals, "cpu": cpu, "rss": rss, "rate": result["rate"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=5000, help="telemetry messages per second")
    ap.add_argument("--alarm-rate", type=float, default=100, help="SOS alarms per second")
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--telemetry-qos", type=int, choices=(0, 1), default=0,
                    help="QoS of the telemetry load (default 0, as Zigbee2MQTT publishes); SOS is always QoS 1")
    ap.add_argument("--load-transport", choices=("raw", "paho"), default="raw",
                    help="how the load generator publishes: raw (pre-encoded packets, little CPU; default) or paho")
    ap.add_argument("--mqtt-protocol", type=int, choices=(4, 5), default=5,
                    help="MQTT protocol for both consumers: 5 (the gateway's default) or 4 (3.1.1)")
    ap.add_argument("--db", default="", help="database URL for the gateway (default: a fresh SQLite file)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="shewu-bench-") as tmp:
        work = Path(tmp)
        broker = Mosquitto(work / "broker", persistence=False).start()
        try:
            plain_published, plain_arrivals = run_plain_phase(broker.url, args, work)
            g = run_gateway_phase(broker.url, args, work)
        finally:
            broker.stop()
    protocol = "MQTT 5" if args.mqtt_protocol == 5 else "MQTT 3.1.1"
    print(f"\nAlarm latency ({protocol}): SOS at {args.alarm_rate:.0f}/s with telemetry at {args.rate:.0f}/s "
          f"(QoS {args.telemetry_qos}) for {args.duration:.0f} s, same load in each phase")
    print(f"{'path':<44}{'alarms':>8}{'missing':>8}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    print(summary("1. SOS publish -> plain paho subscriber", plain_published, plain_arrivals))
    print(summary("2. SOS publish -> order on the live feed", g["published"], g["arrivals"]))  # type: ignore[arg-type]
    cpu, rss = float(g["cpu"]), float(g["rss"])  # type: ignore[arg-type]
    print(f"gateway CPU {cpu:.1f} s in {args.duration:.0f} s ({cpu / args.duration * 100:.0f} % of one core), "
          f"RSS {rss:.0f} MB; target: p99 <= 25 ms")


if __name__ == "__main__":
    main()
