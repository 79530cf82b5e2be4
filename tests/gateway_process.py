"""A real `shewu serve` process for end-to-end tests, and small helpers to talk to it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from gateway.broker import free_port


class GatewayProcess:
    def __init__(self, *, mqtt_url: str, db_url: str, log_dir: Path, instance_id: str | None = None,
                 shared_group: str = "", protocol: int = 5, env: dict[str, str] | None = None) -> None:
        self.env = env or {}
        self.mqtt_url = mqtt_url
        self.db_url = db_url
        self.port = free_port()
        self.instance_id = instance_id or f"test-gw-{uuid.uuid4().hex[:8]}"
        self.shared_group = shared_group
        self.protocol = protocol
        self.log_path = log_dir / f"{self.instance_id}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._token: str | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        """An admin bearer token in this gateway's database (made on first use)."""
        if self._token is None:
            from gateway.storage.db import create_schema, make_engine
            from tests.accounts import api_token

            engine = make_engine(self.db_url)
            create_schema(engine)
            self._token = api_token(engine, f"tests-{uuid.uuid4().hex[:6]}", "admin")
            engine.dispose()
        return self._token

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def live_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/live?token={self.token}"

    def start(self, timeout: float = 30.0) -> GatewayProcess:
        cmd = [sys.executable, "-m", "gateway.cli", "serve", "--mqtt", self.mqtt_url, "--db", self.db_url,
               "--port", str(self.port), "--instance-id", self.instance_id,
               "--mqtt-protocol", str(self.protocol)]
        if self.shared_group:
            cmd += ["--shared-group", self.shared_group]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.env})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                r = httpx.get(f"{self.base_url}/healthz", timeout=1)
                if r.status_code == 200 and r.json().get("mqtt"):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"gateway not healthy:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    # --- API helpers ---

    def get(self, path: str, **params: Any) -> Any:
        r = httpx.get(f"{self.base_url}{path}", params=params, headers=self.headers, timeout=10)
        r.raise_for_status()
        return r.json()

    def post(self, path: str, body: Any) -> httpx.Response:
        return httpx.post(f"{self.base_url}{path}", json=body, headers=self.headers, timeout=10)

    def metric(self, name: str) -> float:
        text = httpx.get(f"{self.base_url}/metrics", timeout=10).text
        m = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.MULTILINE)
        return float(m.group(1)) if m else 0.0


def wait_until(predicate: Any, *, timeout: float = 20.0, interval: float = 0.05, what: str = "condition") -> Any:
    """Poll ``predicate`` until it answers something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")
