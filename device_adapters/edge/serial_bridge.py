"""``shewu bridge serial``: a serial receiver → native MQTT messages, through an on-disk outbox.

Two threads:

- the reader opens the port with ``serial.serial_for_url`` (so a pty path or a pyserial URL works),
  splits the byte stream into lines, decodes each with :func:`decode_line` and appends the native
  message to the outbox (an SQLite file, WAL, ``synchronous=FULL``), committed before anything
  else happens. Bad lines are logged with their reason, counted, and kept in the ``rejected``
  table (the latest :data:`~device_adapters.edge.outbox.REJECTED_KEEP`). When the port
  disappears it retries until it is back.
- the publisher (:class:`~device_adapters.edge.outbox.OutboxPublisher`) drains the outbox over
  MQTT on the edge's own topics (``shewu/v1/edge/<receiver_id>/<device_id>/event``) and forgets a
  row only when the gateway confirms it; see :mod:`device_adapters.edge.outbox`.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import socket
import sqlite3
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import serial

from device_adapters.edge.outbox import EDGE_ID_CHARS, BridgeStats, Outbox, OutboxPublisher
from device_adapters.events import DecodeError
from device_adapters.mqtt_client import MqttUrl
from device_adapters.serial_protocol import MAX_LINE, decode_line

log = logging.getLogger("shewu.serial_bridge")

# Bytes without a newline after which the reader gives up on the line (noise + a 256-byte frame).
MAX_RAW_LINE = 4 * MAX_LINE


class SerialBridge:
    """Serial port → outbox → MQTT. ``start()`` runs the reader and the publisher in two daemon
    threads; ``stop()`` ends them.

    The outbox keeps whatever is not yet confirmed across broker outages and restarts of the
    bridge itself.
    """

    def __init__(
        self,
        port: str,
        outbox_path: str | Path,
        mqtt_url: str | MqttUrl,
        receiver_id: str,
        baud: int = 115200,
        *,
        window: int = 64,
        retry_delay: float = 0.2,
        max_retry_delay: float = 5.0,
        keepalive: int = 15,
        ack_timeout: float = 30.0,
        confirm_timeout: float = 10.0,
        client_id: str | None = None,
    ) -> None:
        self.publisher = OutboxPublisher(
            outbox_path,
            mqtt_url,
            receiver_id,
            window=window,
            retry_delay=retry_delay,
            max_retry_delay=max_retry_delay,
            keepalive=keepalive,
            ack_timeout=ack_timeout,
            confirm_timeout=confirm_timeout,
            client_id=client_id or f"shewu-serial-{receiver_id}",
        )
        self.port = port
        self.baud = baud
        self.outbox_path = self.publisher.outbox_path
        self.mqtt = self.publisher.mqtt
        self.receiver_id = receiver_id
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self._stop = threading.Event()
        self._stats = BridgeStats()  # the reader's counters; the publisher keeps its own
        self._stats_lock = threading.Lock()
        self._reader_thread: threading.Thread | None = None

    # -- control -----------------------------------------------------------------------------

    def start(self) -> None:
        if self._reader_thread is not None:
            raise RuntimeError("already started")
        self._stop.clear()
        self._reader_thread = threading.Thread(target=self._reader, name=f"serial-reader-{self.receiver_id}",
                                               daemon=True)
        self._reader_thread.start()
        self.publisher.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.publisher.stop(timeout)
        if self._reader_thread is not None:
            self._reader_thread.join(timeout)
        self._reader_thread = None

    def __enter__(self) -> SerialBridge:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def stats(self) -> BridgeStats:
        """The reader's counters with the publisher's."""
        merged = self.publisher.stats
        with self._stats_lock:
            merged.lines = self._stats.lines
            merged.queued = self._stats.queued
            merged.rejected = Counter(self._stats.rejected)
            merged.serial_connected = self._stats.serial_connected
            merged.serial_opens = self._stats.serial_opens
        return merged

    def pending(self) -> int:
        """Messages in the outbox not yet confirmed by the gateway."""
        return self.publisher.pending()

    def rejected(self, limit: int = 100) -> list[dict[str, Any]]:
        return self.publisher.rejected(limit)

    def _set(self, **changes: Any) -> None:
        with self._stats_lock:
            for k, v in changes.items():
                setattr(self._stats, k, v)

    def _add(self, name: str, n: int = 1) -> None:
        with self._stats_lock:
            setattr(self._stats, name, getattr(self._stats, name) + n)

    # -- serial side -------------------------------------------------------------------------

    def _reader(self) -> None:
        box = Outbox(self.outbox_path)
        delay = self.retry_delay
        warned = False
        try:
            while not self._stop.is_set():
                try:
                    port = serial.serial_for_url(self.port, baudrate=self.baud, timeout=0.1)
                except (serial.SerialException, OSError, ValueError) as exc:
                    (log.debug if warned else log.warning)("serial port %s unavailable: %s", self.port, exc)
                    warned = True
                    self._stop.wait(delay)
                    delay = min(delay * 2, self.max_retry_delay)
                    continue
                log.info("serial port %s open at %d baud", self.port, self.baud)
                warned = False
                delay = self.retry_delay
                self._set(serial_connected=True)
                self._add("serial_opens")
                try:
                    self._read_lines(port, box)
                except (serial.SerialException, OSError) as exc:
                    log.warning("serial port %s lost: %s", self.port, exc)
                except Exception:  # e.g. the outbox disk is full: keep the bridge alive, retry
                    log.exception("serial reader failed; reopening %s", self.port)
                finally:
                    self._set(serial_connected=False)
                    with contextlib.suppress(serial.SerialException, OSError):
                        port.close()
                self._stop.wait(delay)
        finally:
            box.close()

    def _read_lines(self, port: serial.SerialBase, box: Outbox) -> None:
        buf = bytearray()
        overflow = False
        while not self._stop.is_set():
            chunk = port.read(port.in_waiting or 1)
            if not chunk:
                continue
            buf += chunk
            while True:
                nl = buf.find(b"\n")
                if nl < 0:
                    if len(buf) > MAX_RAW_LINE:
                        if not overflow:
                            self._reject(box, DecodeError("too_long", f"over {MAX_RAW_LINE} bytes"), bytes(buf))
                        overflow = True
                        buf.clear()
                    break
                line = bytes(buf[: nl + 1])
                del buf[: nl + 1]
                if overflow:  # the tail of an over-long line
                    overflow = False
                    continue
                self._handle_line(line, box)

    def _handle_line(self, line: bytes, box: Outbox) -> None:
        if not line.strip():
            return
        self._add("lines")
        try:
            frame = decode_line(line, datetime.now(UTC))
            topic, payload = frame.to_native(self.receiver_id)
        except DecodeError as exc:
            self._reject(box, exc, line)
            return
        except ValueError as exc:
            self._reject(box, DecodeError("internal", str(exc)), line)
            return
        try:
            box.append(topic, payload)
        except sqlite3.Error:
            log.error("could not store serial line in the outbox, line lost: %r", line)
            raise
        self._add("queued")
        self.publisher.notify()

    def _reject(self, box: Outbox, exc: DecodeError, line: bytes) -> None:
        log.warning("rejected serial line (%s: %s): %r", exc.reason, exc.detail, line[:MAX_LINE])
        with self._stats_lock:
            self._stats.rejected[exc.reason] += 1
        box.reject(exc.reason, exc.detail, line)

# -- command line ----------------------------------------------------------------------------


def _default_receiver_id() -> str:
    name = "".join(c if c in EDGE_ID_CHARS else "-" for c in socket.gethostname())[:32]
    return name or "receiver"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``shewu bridge serial`` flags; ``args.func(args)`` runs the bridge."""
    parser.add_argument("--port", required=True, help="serial port or pyserial URL, e.g. /dev/ttyUSB0")
    parser.add_argument("--baud", type=int, default=115200, help="baud rate (default 115200)")
    parser.add_argument("--mqtt", default="mqtt://127.0.0.1:1883", help="broker URL, mqtt://[user:pass@]host:port")
    parser.add_argument("--outbox", default="shewu-serial-outbox.sqlite3", help="SQLite file holding unsent events")
    parser.add_argument(
        "--receiver-id",
        default=_default_receiver_id(),
        help="names this receiver in event ids, [A-Za-z0-9_.-]{1,32} (default: host name)",
    )
    parser.add_argument("--window", type=int, default=64, help="messages in flight before PUBACKs")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ...")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        bridge = SerialBridge(args.port, args.outbox, args.mqtt, args.receiver_id, args.baud, window=args.window)
    except (ValueError, sqlite3.Error) as exc:
        log.error("%s", exc)
        return 2
    done = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        done.set()

    with contextlib.suppress(ValueError):  # ValueError: not the main thread
        signal.signal(signal.SIGTERM, on_signal)
    bridge.start()
    log.info("serial bridge %s: %s → %s (outbox %s)", args.receiver_id, args.port, bridge.mqtt, args.outbox)
    try:
        while not done.wait(60):
            s = bridge.stats
            log.info(
                "lines=%d queued=%d published=%d rejected=%d serial=%s mqtt=%s",
                s.lines,
                s.queued,
                s.published,
                sum(s.rejected.values()),
                s.serial_connected,
                s.mqtt_connected,
            )
    except KeyboardInterrupt:
        pass
    finally:
        bridge.stop()
    return 0
