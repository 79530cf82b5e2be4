"""Shared pieces of the benchmarks: a private broker, gateway processes, process stats."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.broker import Mosquitto  # noqa: E402
from tests.gateway_process import GatewayProcess, wait_until  # noqa: E402

__all__ = ["ROOT", "GatewayProcess", "Mosquitto", "ProcStats", "percentile", "pre_publish", "wait_until"]

TOPICS = ["zigbee2mqtt/#", "shewu/v1/+/event"]


class ProcStats:
    """CPU seconds and resident memory of a running process and its children (the gateway's
    ingest worker), from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._cpu: dict[int, float] = {}
        self.cpu0 = self.cpu()

    def pids(self) -> list[int]:
        kids: list[int] = []
        for children in Path(f"/proc/{self.pid}/task").glob("*/children"):  # any thread may have spawned one
            try:
                kids += [int(p) for p in children.read_text().split()]
            except OSError:
                continue
        return [self.pid, *kids]

    def cpu(self) -> float:
        for pid in self.pids():  # remember each one's last reading: a child may exit first
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            self._cpu[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return sum(self._cpu.values())

    def rss_mb(self) -> float:
        total = 0.0
        for pid in self.pids():
            try:
                lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            except FileNotFoundError:
                continue
            total += next((int(x.split()[1]) / 1024 for x in lines if x.startswith("VmRSS:")), 0.0)
        return total

    def cpu_used(self) -> float:
        return self.cpu() - self.cpu0


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def pre_publish(mqtt_url: str, messages: int, *, devices: int = 2000, rate: float = 20000) -> dict[str, Any]:
    """Publish heartbeats and telemetry (half native, half Zigbee2MQTT state) from another
    process, so that the consumers under test find them queued in their sessions."""
    code = (
        "import json,sys; from firmware_sim.load import run_load; "
        f"r = run_load({mqtt_url!r}, rate={rate}, duration={messages / rate}, devices={devices}, "
        "drain_timeout=120, transport='raw'); "
        "print(json.dumps({'sent': r.sent, 'acked': r.acked, 'all_acked': r.all_acked, "
        "'rate': round(r.achieved_rate)}))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    if not result["all_acked"]:
        raise RuntimeError(f"the broker did not acknowledge every message: {result}")
    return result


def wait_quiet(seconds: float) -> None:
    time.sleep(seconds)


def sign_in(gw: GatewayProcess, *, name: str = "bench-duty", role: str = "dispatcher") -> dict[str, str]:
    """Sign in the way a person on the board does: an admin makes the account with
    ``shewu user add`` on the gateway's database, then the person signs in over HTTP. Answers
    the cookies to send (the session cookie), for HTTP and for the live feed's WebSocket."""
    import secrets

    import httpx

    password = secrets.token_urlsafe(18)
    subprocess.run([sys.executable, "-m", "gateway.cli", "user", "add", name, "--role", role, "--db", gw.db_url,
                    "--password-stdin"], input=password + "\n", text=True, check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    resp = httpx.post(f"{gw.base_url}/api/auth/login", json={"name": name, "password": password}, timeout=10)
    resp.raise_for_status()
    return dict(resp.cookies)


def cookie_header(cookies: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
