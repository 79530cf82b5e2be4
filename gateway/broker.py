"""A broker the demo (and tests) can start themselves.

Mosquitto when it is installed, configured so it does not drop queued messages under load
(``max_queued_messages`` raised, ``max_inflight_messages 0``) and with persistence, so that
persistent sessions and their queued messages survive a broker restart. Otherwise amqtt, an
embedded Python broker that speaks MQTT 3.1.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

MOSQUITTO_CONF = """\
# Written by Shewu. A broker for one gateway host: local, anonymous, nothing dropped.
listener {port} {host}
# Stay the user who started it (as root, mosquitto would otherwise switch to "mosquitto" and
# could not write its persistence file here).
user {user}
allow_anonymous true
max_queued_messages 1000000
max_queued_bytes 0
max_inflight_messages 0
max_packet_size 1048576
# Alarms are small and latency matters more than packing bytes: no Nagle delay towards clients.
set_tcp_nodelay true
persistence {persistence}
persistence_location {data_dir}/
autosave_interval 30
persistent_client_expiration 7d
log_dest file {data_dir}/mosquitto.log
log_type error
log_type warning
log_type notice
"""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def mosquitto_path() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
    )


class Mosquitto:
    """A mosquitto process of our own on ``port``, its data under ``data_dir``."""

    protocol = 5

    def __init__(self, data_dir: Path, *, port: int | None = None, host: str = "127.0.0.1",
                 persistence: bool = True) -> None:
        exe = mosquitto_path()
        if exe is None:
            raise FileNotFoundError("mosquitto is not installed")
        self.exe = exe
        self.host = host
        self.port = port or free_port(host)
        self.data_dir = Path(data_dir)
        self.persistence = persistence
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> Mosquitto:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "mosquitto.conf"
        conf.write_text(MOSQUITTO_CONF.format(
            port=self.port, host=self.host, data_dir=self.data_dir.resolve(),
            persistence="true" if self.persistence else "false", user=getpass.getuser(),
        ))
        self.proc = subprocess.Popen([self.exe, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (self.data_dir / "mosquitto.log")
                raise RuntimeError(f"mosquitto exited: {log.read_text()[-500:] if log.exists() else ''}")
            if port_open(self.host, self.port):
                return self
            time.sleep(0.05)
        raise TimeoutError(f"mosquitto did not listen on {self.port}")

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful: mosquitto saves its persistence file on SIGTERM."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def crash(self, *, lose_state: bool = True) -> None:
        """SIGKILL, as a crash: nothing saved since the last autosave; with ``lose_state`` the saved
        state goes too (sessions, queued messages), as when a broker comes back on a new disk."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        if lose_state:
            (self.data_dir / "mosquitto.db").unlink(missing_ok=True)


class EmbeddedBroker:
    """amqtt in a thread of its own. MQTT 3.1.1 only: the gateway connects with protocol 4."""

    protocol = 4

    def __init__(self, *, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or free_port(host)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: Any = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> EmbeddedBroker:
        from amqtt.broker import Broker

        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            config = {"listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}}}
            self._broker = Broker(config, loop=loop)
            loop.run_until_complete(self._broker.start())
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="amqtt", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError("embedded broker did not start")
        wait_for_port(self.host, self.port, timeout)
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None or self._broker is None:
            return
        fut = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), loop)
        with contextlib.suppress(Exception):
            fut.result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread:
            self._thread.join(5)
        self._loop = None


def start_local_broker(data_dir: Path, *, port: int | None = None) -> Mosquitto | EmbeddedBroker:
    """Mosquitto if installed, else the embedded amqtt broker."""
    if mosquitto_path():
        return Mosquitto(data_dir, port=port).start()
    return EmbeddedBroker(port=port).start()
