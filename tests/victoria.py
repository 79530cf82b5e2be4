"""A VictoriaMetrics of our own for tests: Debian's ``victoria-metrics`` on a free port, its data
in a temporary directory. It accepts InfluxDB's ``/api/v2/write`` (org, bucket and token are
ignored) and stores ``<measurement>_<field>`` series with the tags as labels; ``/api/v1/export``
reads them back.

When the binary is missing and we are root on Debian, :func:`victoria_path` installs it with
apt-get (once per test session); otherwise the tests that need it are skipped.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.broker import free_port

VICTORIA_BIN = "/usr/bin/victoria-metrics"
VICTORIA_PACKAGE = "victoria-metrics"

SeriesKey = tuple[str, frozenset[tuple[str, str]]]  # metric name, labels


def _find() -> str | None:
    return shutil.which("victoria-metrics") or (VICTORIA_BIN if Path(VICTORIA_BIN).exists() else None)


@functools.cache
def victoria_path() -> str | None:
    """The victoria-metrics binary; installed with apt-get (as root) when missing. None: none."""
    found = _find()
    if found or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", VICTORIA_PACKAGE]
    for steps in ([install], [["apt-get", "update", "-qq"], install]):
        try:
            for cmd in steps:
                subprocess.run(cmd, env=env, check=True, timeout=600, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError):
            continue
        found = _find()
        if found:
            return found
    return None


def _get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        body: bytes = resp.read()
        return body


class Victoria:
    """``victoria-metrics`` listening on 127.0.0.1:``port``, storing under ``data_dir``.

    ``stop()`` then ``start()`` brings it back on the same port with the same data.
    """

    def __init__(self, data_dir: Path, *, port: int | None = None, host: str = "127.0.0.1") -> None:
        exe = victoria_path()
        if exe is None:
            raise FileNotFoundError("victoria-metrics is not installed")
        self.exe = exe
        self.host = host
        self.port = port or free_port(host)
        self.data_dir = Path(data_dir)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> Victoria:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / "victoria.log", "ab")  # noqa: SIM115 (kept open by the process)
        self.proc = subprocess.Popen(
            [self.exe, f"-storageDataPath={self.data_dir / 'data'}", f"-httpListenAddr={self.host}:{self.port}",
             "-retentionPeriod=100y", "-loggerLevel=WARN"],
            stdout=log, stderr=log,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"victoria-metrics exited: {self.log_tail()}")
            with contextlib.suppress(OSError):
                if _get(f"{self.url}/health", timeout=1.0).strip() == b"OK":
                    return self
            time.sleep(0.05)
        raise TimeoutError(f"victoria-metrics did not answer /health on {self.port}: {self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def log_tail(self, n: int = 800) -> str:
        path = self.data_dir / "victoria.log"
        return path.read_text(errors="replace")[-n:] if path.exists() else ""

    def force_flush(self) -> None:
        """Make what was written so far visible to queries."""
        _get(f"{self.url}/internal/force_flush")

    def export(self, match: str = '{__name__=~".+"}') -> list[dict[str, Any]]:
        """Every series matching ``match``: ``{"metric": {labels}, "values": [...], "timestamps": [ms]}``."""
        self.force_flush()
        query = urllib.parse.urlencode({"match[]": match})
        body = _get(f"{self.url}/api/v1/export?{query}").decode("utf-8")
        return [json.loads(line) for line in body.splitlines() if line.strip()]

    def wait_for(self, match: str, done: Callable[[list[dict[str, Any]]], bool],
                 timeout: float = 15.0) -> list[dict[str, Any]]:
        """Export ``match`` until ``done(series)`` (VictoriaMetrics makes rows searchable within
        about a second of taking them); answers the last export either way."""
        deadline = time.monotonic() + timeout
        while True:
            series = self.export(match)
            if done(series) or time.monotonic() >= deadline:
                return series
            time.sleep(0.2)

    def samples(self, match: str = '{__name__=~".+"}') -> dict[SeriesKey, list[tuple[int, float]]]:
        """``{(name, labels without __name__): [(timestamp ms, value), ...]}`` of an export."""
        out: dict[SeriesKey, list[tuple[int, float]]] = {}
        for s in self.export(match):
            labels = dict(s["metric"])
            name = labels.pop("__name__")
            out.setdefault((name, frozenset(labels.items())), []).extend(
                zip(s["timestamps"], s["values"], strict=True))
        return out
