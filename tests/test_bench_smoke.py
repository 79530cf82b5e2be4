"""Every benchmark under bench/ still runs: each in a smoke mode (seconds, small counts), its
figures printed. Nothing about speed is asserted (these machines are noisy): this catches a
benchmark that no longer runs, as bench/alarm_latency.py once did after sign-in arrived."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.broker import mosquitto_path

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.integration

# (script, arguments for a run of seconds, a line its report prints)
SMOKE = [
    ("alarm_latency.py", ["--duration", "3", "--rate", "200", "--alarm-rate", "10"],
     "2. SOS publish -> order on the live feed"),
    ("ingest_throughput.py", ["--messages", "2000"], "gateway / plain:"),
    ("scheduler_lag.py", ["--orders", "100", "--window", "2", "--lead", "10"], "steps fired"),
    ("telemetry_throughput.py", ["--events", "4000", "--devices", "100", "--no-batching-api"],
     "Telemetry throughput into VictoriaMetrics"),
    ("fleet_supervision.py", ["--devices", "300", "--minutes", "0.2", "--warmup", "5", "--silent", "5",
                              "--baseline", "5"], "Fleet supervision"),
    ("fuzz.py", ["--smoke", "--seed", "1"], "distinct failures"),
    ("chaos.py", ["--smoke", "--seed", "1"], "database    alarms  orders  lost  doubled"),
]


@pytest.mark.parametrize(("script", "args", "reports"), SMOKE, ids=[s for s, _, _ in SMOKE])
def test_the_benchmark_runs(script: str, args: list[str], reports: str) -> None:
    if mosquitto_path() is None:
        pytest.skip("mosquitto is not installed")
    run = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], cwd=ROOT, capture_output=True,
                         text=True, timeout=600, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert reports in run.stdout, out[-3000:]


def test_every_benchmark_has_a_smoke_run() -> None:
    helpers = {"plain_subscriber.py"}  # run by the others, not a benchmark of its own
    benches = {p.name for p in (ROOT / "bench").glob("*.py") if not p.name.startswith("_")} - helpers
    assert benches == {s for s, _, _ in SMOKE}
