"""A real Mosquitto for tests: ``MosquittoBroker(port=None)`` with ``start()``, ``stop()``, ``url``.

Reusable from any test or conftest::

    broker = MosquittoBroker()
    broker.start()
    ...  # connect to broker.url / broker.host, broker.port
    broker.stop()
    broker.start()  # same port again

``persistence=True`` keeps sessions and queued messages across ``stop()``/``start()`` (Mosquitto
writes its database on shutdown), for tests of persistent sessions over a broker restart.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def mosquitto_path() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
    )


class MosquittoBroker:
    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = "127.0.0.1",
        persistence: bool = False,
        extra_config: str = "",
        start_timeout: float = 10.0,
    ) -> None:
        exe = mosquitto_path()
        if exe is None:
            raise RuntimeError("mosquitto is not installed")
        self.exe = exe
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.persistence = persistence
        self.start_timeout = start_timeout
        self._dir = Path(tempfile.mkdtemp(prefix="shewu-mosquitto-"))
        self.config_path = self._dir / "mosquitto.conf"
        self.log_path = self._dir / "mosquitto.log"
        lines = [
            f"listener {self.port} {host}",
            "allow_anonymous true",
            "max_queued_messages 100000",
            "max_inflight_messages 0",
            f"persistence {'true' if persistence else 'false'}",
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            # run as root, Mosquitto would switch to the "mosquitto" user, which cannot write the
            # log or the persistence file into our private temporary directory
            lines.append("user root")
        if persistence:
            lines += [f"persistence_location {self._dir}/", "autosave_interval 0"]
        self.config_path.write_text("\n".join(lines) + "\n" + extra_config)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _accepts(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def start(self) -> MosquittoBroker:
        if self.running:
            return self
        self._proc = subprocess.Popen(
            [self.exe, "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                self._proc = None
                raise RuntimeError(f"mosquitto exited at start: {err}{self.log()}")
            if self._accepts():
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on {self.host}:{self.port}: {self.log()}")

    def stop(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()  # SIGTERM: Mosquitto saves its persistence database, then exits
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if proc.stderr is not None:
            proc.stderr.close()

    def restart(self) -> MosquittoBroker:
        self.stop()
        return self.start()

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")
        return ""

    def close(self) -> None:
        """Stop and remove the temporary directory."""
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> MosquittoBroker:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
