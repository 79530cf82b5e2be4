"""Ingest throughput: heartbeats and telemetry through decode → route → store → ack, against
a plain paho QoS 1 subscriber on the same broker, in the same run.

Each consumer drains the same number of messages that were queued for its persistent
session while it was away, so the publisher's speed does not cap the figure. Target: the
gateway reaches at least 70 % of the plain subscriber's rate.

    python bench/ingest_throughput.py [--messages 60000] [--db postgresql://...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, GatewayProcess, Mosquitto, ProcStats, pre_publish


def run_plain(url: str, messages: int, protocol: int) -> dict[str, float]:
    base = [sys.executable, str(ROOT / "bench" / "plain_subscriber.py"), "--url", url, "--client-id", "bench-plain",
            "--protocol", str(protocol)]
    subprocess.run([*base, "--expect", "0"], check=True, capture_output=True)  # create the session
    pre_publish(url, messages)
    proc = subprocess.Popen([*base, "--expect", str(messages)], stdout=subprocess.PIPE, text=True)
    stats = ProcStats(proc.pid)
    assert proc.stdout is not None
    proc.stdout.readline()  # ready
    rss = cpu = 0.0
    while proc.poll() is None:
        try:
            rss, cpu = max(rss, stats.rss_mb()), stats.cpu_used()
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(0.05)
    result = json.loads(proc.stdout.read().strip().splitlines()[-1])
    return {"messages": result["messages"], "seconds": result["seconds"], "rate": result["rate"],
            "cpu_s": cpu, "rss_mb": rss}


def run_gateway(url: str, db_url: str, messages: int, log_dir: Path, protocol: int) -> dict[str, float]:
    gw = GatewayProcess(mqtt_url=url, db_url=db_url, log_dir=log_dir, instance_id="bench-gateway", protocol=protocol)
    gw.start()
    gw.stop()  # the broker now keeps its session and queues for it
    pre_publish(url, messages)
    gw.start()
    assert gw.proc is not None
    stats = ProcStats(gw.proc.pid)
    first = None
    rss = 0.0
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        received, done = gw.metric("shewu_messages_received_total"), gw.metric("shewu_messages_in_total")
        now = time.perf_counter()
        if first is None and received > 0:
            first = now
        rss = max(rss, stats.rss_mb())
        if done >= messages:
            break
        time.sleep(0.02)
    seconds = now - (first or now)
    cpu = stats.cpu_used()
    dead = gw.metric("shewu_deadletters_total")
    gw.stop()
    return {"messages": done, "seconds": round(seconds, 3), "rate": round(done / seconds, 1) if seconds else 0,
            "cpu_s": cpu, "rss_mb": rss, "deadletters": dead}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=60000)
    ap.add_argument("--mqtt-protocol", type=int, choices=(4, 5), default=5,
                    help="MQTT protocol for both consumers: 5 (the gateway's default) or 4 (3.1.1)")
    ap.add_argument("--db", default="", help="database URL for the gateway (default: a fresh SQLite file)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="shewu-bench-") as tmp:
        work = Path(tmp)
        broker = Mosquitto(work / "broker", persistence=False).start()
        try:
            plain = run_plain(broker.url, args.messages, args.mqtt_protocol)
            db_url = args.db or f"sqlite:///{work / 'bench.db'}"
            gateway = run_gateway(broker.url, db_url, args.messages, work, args.mqtt_protocol)
        finally:
            broker.stop()
    protocol = "MQTT 5" if args.mqtt_protocol == 5 else "MQTT 3.1.1"
    print(f"\nIngest throughput ({protocol}), {args.messages} queued QoS 1 heartbeat/telemetry messages "
          "(half native, half Zigbee2MQTT)")
    print(f"{'consumer':<34}{'messages':>10}{'seconds':>10}{'msg/s':>10}{'CPU s':>8}{'RSS MB':>8}")
    for name, r in (("plain paho QoS 1 subscriber", plain), (f"shewu gateway ({args.db or 'SQLite'})", gateway)):
        print(f"{name:<34}{int(r['messages']):>10}{r['seconds']:>10.2f}{r['rate']:>10.0f}{r['cpu_s']:>8.1f}"
              f"{r['rss_mb']:>8.0f}")
    ratio = gateway["rate"] / plain["rate"] * 100 if plain["rate"] else 0
    print(f"gateway / plain: {ratio:.0f} %  (target >= 70 %)")


if __name__ == "__main__":
    main()
