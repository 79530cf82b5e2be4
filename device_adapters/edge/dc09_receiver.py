"""``shewu bridge dc09``: a SIA DC-09 alarm receiver over TCP → native MQTT messages, through the
same on-disk outbox as the serial bridge.

Alarm panels (or their IP communicators) connect, send DC-09 frames (``LF`` ... ``CR``) and wait for
an answer to each on the same connection (see :mod:`device_adapters.dc09`). For every frame:

1. :func:`~device_adapters.dc09.parse_frame` checks framing, CRC, length and header, then the
   timestamp window (+20 / -40 s of the injected clock, when the frame has a timestamp). Any failure:
   ``NAK`` with our time, and the frame goes to the outbox's ``rejected`` table with its reason.
2. A frame identical to one accepted in the last :data:`REPEAT_WINDOW` (the panel did not get our
   ACK and sent it again) is acknowledged again and not stored twice.
3. An encrypted frame (``*ADM-CID``, ``*SIA-DCS``, ``*NULL``) is decrypted with its account's key
   (``--keys FILE``, :mod:`device_adapters.dc09_crypto`), and its timestamp checked as in 1.
4. :func:`~device_adapters.dc09.decode_events` turns ``NULL`` into a heartbeat, ``ADM-CID`` into one
   event by the Contact ID table and ``SIA-DCS`` into one event per code by the SIA table. Fail open:
   what cannot be classified still becomes an ``unknown_alarm`` event (a P2 order for a person) *and*
   a rejected row with its reason (the dead letter). The answer: ``ACK`` for an unknown event code (the
   message arrived intact, so the panel does not retry forever); ``DUH`` for a payload that does not
   parse, an id we do not know, an account without a key (``unknown_key``) or a key that does not
   decrypt (``wrong_key``). An ACK to an encrypted frame is encrypted; NAK and DUH never are.
5. The native messages (``encode_native``, with the deterministic id
   ``dc09:<account>:<seq>:<timestamp>``) are committed to the SQLite outbox (WAL,
   ``synchronous=FULL``) and only then is the frame acknowledged. If the outbox cannot be written, the
   answer is ``NAK`` and the panel sends again: nothing is acknowledged that is not on disk.

The MQTT side is the edges' shared publisher, :class:`~device_adapters.edge.outbox.OutboxPublisher`
(QoS 1, in order, on the edge's own topics; a row deleted only when the gateway confirms it committed,
sent again otherwise; reconnecting as often as needed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
import sqlite3
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from device_adapters.contact_id import CONTACT_ID_CODES, CidCode
from device_adapters.dc09 import (
    MAX_FRAME,
    TIME_FUTURE,
    TIME_PAST,
    Dc09Event,
    Dc09Frame,
    build_ack,
    build_duh,
    build_nak,
    check_timestamp,
    decode_events,
    frame_length,
    guess_framing,
    parse_frame,
    unknown_alarm,
)
from device_adapters.dc09_crypto import KeyFileError, build_encrypted_ack, decrypt_frame, load_keys
from device_adapters.edge.outbox import EDGE_ID_CHARS, Outbox, OutboxPublisher
from device_adapters.events import DecodeError, EventKind
from device_adapters.mqtt_client import MqttUrl

log = logging.getLogger("shewu.dc09_receiver")

DEFAULT_PORT = 12128
REPEAT_WINDOW = timedelta(minutes=10)
REPEAT_KEEP = 10_000
IDLE_TIMEOUT = 300.0  # seconds without a byte before a connection is closed
# Reasons of an unknown_alarm that are answered DUH ("not understood"); others (an unknown event code)
# are answered ACK: the message arrived intact and a person will look at it.
DUH_REASONS = frozenset({"bad_payload", "bad_qualifier", "unsupported_token", "unknown_key", "wrong_key", "bad_cipher"})

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ReceiverStats:
    frames: int = 0
    acked: int = 0
    naked: int = 0
    duh: int = 0
    queued: int = 0
    repeats: int = 0
    connections: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    def copy(self) -> ReceiverStats:
        return ReceiverStats(
            self.frames,
            self.acked,
            self.naked,
            self.duh,
            self.queued,
            self.repeats,
            self.connections,
            Counter(self.rejected),
        )


class Dc09Receiver:
    """TCP server → outbox → MQTT. ``await start()`` listens and starts the publisher thread;
    ``await stop()`` ends both. ``port=0`` picks a free port (see :attr:`port`)."""

    def __init__(
        self,
        host: str,
        port: int,
        outbox_path: str | Path,
        mqtt_url: str | MqttUrl,
        receiver_id: str,
        *,
        clock: Clock = utc_now,
        time_window: tuple[timedelta, timedelta] | None = (TIME_PAST, TIME_FUTURE),
        codes: dict[str, CidCode] | None = None,
        keys: dict[str, bytes] | None = None,
        idle_timeout: float = IDLE_TIMEOUT,
        repeat_window: timedelta = REPEAT_WINDOW,
        window: int = 64,
        retry_delay: float = 0.2,
        max_retry_delay: float = 5.0,
    ) -> None:
        if not 0 < len(receiver_id) <= 32 or not EDGE_ID_CHARS.issuperset(receiver_id):
            raise ValueError(f"receiver id {receiver_id!r} must match [A-Za-z0-9_.-]{{1,32}}")
        self.host = host
        self.port = port
        self.outbox_path = str(outbox_path)
        self.receiver_id = receiver_id
        self.clock = clock
        self.time_window = time_window
        self.codes = dict(codes) if codes is not None else dict(CONTACT_ID_CODES)
        self.keys = {k.upper(): v for k, v in (keys or {}).items()}  # account → AES key
        self.idle_timeout = idle_timeout
        self.repeat_window = repeat_window.total_seconds()
        self.publisher = OutboxPublisher(
            self.outbox_path,
            mqtt_url,
            receiver_id,
            window=window,
            retry_delay=retry_delay,
            max_retry_delay=max_retry_delay,
            client_id=f"shewu-dc09-{receiver_id}",
        )
        self._stats = ReceiverStats()
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"dc09-outbox-{receiver_id}")
        self._box: Outbox | None = None  # used only on the executor's one thread
        self._recent: OrderedDict[str, float] = OrderedDict()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self._closed = False

    # -- control -----------------------------------------------------------------------------

    async def start(self) -> None:
        if self._server is not None or self._closed:
            raise RuntimeError("already started" if self._server is not None else "stopped for good")
        await self._run_db(self._open_box)
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        sock = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])
        self.publisher.start()
        log.info(
            "DC-09 receiver %s listening on %s:%d → %s", self.receiver_id, self.host, self.port, self.publisher.mqtt
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None
        await asyncio.to_thread(self.publisher.stop)
        if not self._closed:
            self._closed = True
            await self._run_db(self._close_box)
            self._db.shutdown(wait=True)

    async def __aenter__(self) -> Dc09Receiver:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def stats(self) -> ReceiverStats:
        return self._stats.copy()

    def pending(self) -> int:
        return self.publisher.pending()

    def rejected(self, limit: int = 100) -> list[dict[str, Any]]:
        return self.publisher.rejected(limit)

    # -- the outbox, on its own thread -------------------------------------------------------

    async def _run_db(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._db, fn, *args)

    def _open_box(self) -> None:
        if self._box is None:
            self._box = Outbox(self.outbox_path)

    def _close_box(self) -> None:
        if self._box is not None:
            self._box.close()
            self._box = None

    def _append_all(self, messages: list[tuple[str, bytes]]) -> None:
        """Commit the frame's messages (one per ADM-CID or NULL frame); durable when this returns."""
        assert self._box is not None
        for topic, payload in messages:
            self._box.append(topic, payload)

    def _reject_row(self, reason: str, detail: str, frame: bytes) -> None:
        assert self._box is not None
        self._box.reject(reason, detail, frame)

    # -- frames ------------------------------------------------------------------------------

    async def handle_frame(self, raw: bytes) -> bytes:
        """The answer to one frame (``LF`` ... ``CR``), after its events are durably queued."""
        now = self.clock()
        self._stats.frames += 1
        try:
            frame = parse_frame(raw)
            if not frame.encrypted:
                self._check_time(frame, now)
        except DecodeError as exc:
            await self._reject(exc, raw)
            self._stats.naked += 1
            return build_nak(now, guess_framing(raw))
        key = self.keys.get(frame.account_key) if frame.encrypted else None
        if self._is_repeat(frame):
            self._stats.repeats += 1
            self._stats.acked += 1
            return self._ack(frame, key, now)
        try:
            frame, events = self._decode(frame, key, now)
            messages = [e.to_native() for e in events]
        except DecodeError as exc:  # the timestamp inside an encrypted frame; an answer sent to us
            await self._reject(exc, raw)
            if exc.reason == "timestamp_out_of_window":
                self._stats.naked += 1
                return build_nak(now, frame.framing)
            self._stats.duh += 1
            return build_duh(frame)
        except ValueError as exc:  # encode_native refused something: a bug here
            await self._reject(DecodeError("internal", str(exc)), raw)
            self._stats.duh += 1
            return build_duh(frame)
        unclassified = [e for e in events if e.kind is EventKind.UNKNOWN_ALARM]
        for event in unclassified:  # the dead letter, beside the order a person will see
            await self._reject(DecodeError(str(event.reason), str(event.data.get("detail", ""))), raw)
        try:
            await self._run_db(self._append_all, messages)
        except (sqlite3.Error, OSError) as exc:
            log.error("could not store DC-09 frame in the outbox, answering NAK: %s (%r)", exc, raw)
            self._stats.naked += 1
            return build_nak(now, frame.framing)
        self._stats.queued += len(messages)
        self.publisher.notify()
        if any(e.reason in DUH_REASONS for e in unclassified):
            self._stats.duh += 1
            return build_duh(frame)
        self._remember(frame)
        self._stats.acked += 1
        return self._ack(frame, key, now)

    def _check_time(self, frame: Dc09Frame, now: datetime) -> None:
        if self.time_window is not None:
            check_timestamp(frame, now, past=self.time_window[0], future=self.time_window[1])

    def _decode(self, frame: Dc09Frame, key: bytes | None, now: datetime) -> tuple[Dc09Frame, list[Dc09Event]]:
        """Decrypt (when encrypted) and decode one frame. An encrypted event we cannot read is an
        ``unknown_alarm`` of its panel (its ``*NULL`` link tests only a dead letter)."""
        if frame.encrypted:
            if key is None:
                problem = DecodeError("unknown_key", f"*{frame.token} from account {frame.account}: no AES key for it")
            else:
                try:
                    frame = decrypt_frame(frame, key)
                    problem = None
                except DecodeError as exc:
                    problem = exc
            if problem is not None:
                if frame.token == "NULL":
                    raise problem
                return frame, [unknown_alarm(frame, now, problem.reason, problem.detail)]
            self._check_time(frame, now)
        return frame, decode_events(frame, now, self.codes)

    @staticmethod
    def _ack(frame: Dc09Frame, key: bytes | None, now: datetime) -> bytes:
        return build_encrypted_ack(frame, key, now) if frame.encrypted and key is not None else build_ack(frame)

    async def _reject(self, exc: DecodeError, raw: bytes) -> None:
        log.warning("DC-09 frame rejected (%s: %s): %r", exc.reason, exc.detail, raw[:200])
        self._stats.rejected[exc.reason] += 1
        try:
            await self._run_db(self._reject_row, exc.reason, exc.detail, raw)
        except (sqlite3.Error, OSError) as err:
            log.error("could not record the rejected frame: %s", err)

    def _is_repeat(self, frame: Dc09Frame) -> bool:
        now = time.monotonic()
        while self._recent:
            key, at = next(iter(self._recent.items()))
            if now - at <= self.repeat_window and len(self._recent) <= REPEAT_KEEP:
                break
            self._recent.pop(key)
        return frame.message in self._recent

    def _remember(self, frame: Dc09Frame) -> None:
        self._recent[frame.message] = time.monotonic()
        self._recent.move_to_end(frame.message)

    # -- connections -------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        peer = writer.get_extra_info("peername")
        self._stats.connections += 1
        log.debug("DC-09 connection from %s", peer)
        try:
            await self._read_frames(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError) as exc:
            log.debug("DC-09 connection from %s ended: %s", peer, exc)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("DC-09 connection from %s failed", peer)
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read_frames(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buf = bytearray()
        while True:
            chunk = await asyncio.wait_for(reader.read(4096), self.idle_timeout)
            if not chunk:
                return
            buf += chunk
            while True:
                lf = buf.find(b"\n")
                if lf < 0:
                    if len(buf) > MAX_FRAME:
                        await self._answer(writer, await self._noise(bytes(buf)))
                        buf.clear()
                    break
                if lf > 0:
                    del buf[:lf]  # bytes before LF: line noise
                if len(buf) < 10:
                    break  # not even a frame's head yet (a binary CRC byte may look like CR)
                total = frame_length(buf)
                if total is not None and total <= MAX_FRAME and buf[total - 1 : total] == b"\r":
                    frame = bytes(buf[:total])  # by its length field: a binary CRC may hold LF or CR
                    del buf[:total]
                    await self._answer(writer, await self.handle_frame(frame))
                    continue
                if total is not None and total <= MAX_FRAME and len(buf) < total and b"\r" not in buf[9:]:
                    break  # not all here yet
                cr = buf.find(b"\r")
                nl = buf.find(b"\n", 1)
                if nl > 0 and (cr < 0 or nl < cr):  # a new LF before the CR: a broken frame
                    frame = bytes(buf[:nl])
                    del buf[:nl]
                    await self._answer(writer, await self.handle_frame(frame))
                    continue
                if cr < 0:
                    if len(buf) > MAX_FRAME:
                        await self._answer(writer, await self.handle_frame(bytes(buf)))
                        buf.clear()
                    break
                frame = bytes(buf[: cr + 1])
                del buf[: cr + 1]
                await self._answer(writer, await self.handle_frame(frame))

    async def _noise(self, data: bytes) -> bytes:
        self._stats.frames += 1
        await self._reject(DecodeError("bad_frame", f"{len(data)} bytes without LF"), data)
        self._stats.naked += 1
        return build_nak(self.clock())

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, response: bytes) -> None:
        writer.write(response)
        await writer.drain()


# -- command line ----------------------------------------------------------------------------


def _default_receiver_id() -> str:
    name = "".join(c if c in EDGE_ID_CHARS else "-" for c in socket.gethostname())[:32]
    return name or "receiver"


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[v6]:PORT`` or ``:PORT`` (all interfaces) → (host, port)."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"listen address {text!r} must be HOST:PORT")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port_text)


def parse_time_window(text: str) -> tuple[timedelta, timedelta] | None:
    """``PAST,FUTURE`` seconds (default ``40,20``), or ``off``."""
    if text.strip().lower() == "off":
        return None
    past, sep, future = text.partition(",")
    try:
        values = (float(past), float(future))
    except ValueError:
        raise ValueError(f"time window {text!r} must be PAST,FUTURE seconds or off") from None
    if not sep or min(values) < 0:
        raise ValueError(f"time window {text!r} must be PAST,FUTURE seconds or off")
    return timedelta(seconds=values[0]), timedelta(seconds=values[1])


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``shewu bridge dc09`` flags; ``args.func(args)`` runs the receiver."""
    parser.add_argument(
        "--listen", default=f"0.0.0.0:{DEFAULT_PORT}", help=f"TCP address, HOST:PORT (default 0.0.0.0:{DEFAULT_PORT})"
    )
    parser.add_argument("--mqtt", default="mqtt://127.0.0.1:1883", help="broker URL, mqtt://[user:pass@]host:port")
    parser.add_argument("--outbox", default="shewu-dc09-outbox.sqlite3", help="SQLite file holding unsent events")
    parser.add_argument(
        "--receiver-id",
        default=_default_receiver_id(),
        help="names this receiver (MQTT client id), [A-Za-z0-9_.-]{1,32} (default: host name)",
    )
    parser.add_argument(
        "--time-window",
        default="40,20",
        help="NAK frames whose timestamp is more than PAST s behind / FUTURE s ahead (default 40,20), or off",
    )
    parser.add_argument("--window", type=int, default=64, help="MQTT messages in flight before PUBACKs")
    parser.add_argument(
        "--keys",
        default=None,
        help='AES keys per account, a JSON file: {"1234": {"key_hex": "..."} | {"key": "16/24/32 characters"}}',
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ...")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        host, port = parse_listen(args.listen)
        window = parse_time_window(args.time_window)
        keys = load_keys(args.keys) if getattr(args, "keys", None) else None
        receiver = Dc09Receiver(
            host, port, args.outbox, args.mqtt, args.receiver_id, time_window=window, window=args.window, keys=keys
        )
    except (ValueError, KeyFileError, sqlite3.Error) as exc:
        log.error("%s", exc)
        return 2
    try:
        return asyncio.run(_serve_until_signalled(receiver))
    except KeyboardInterrupt:
        return 0


async def _serve_until_signalled(receiver: Dc09Receiver) -> int:
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, done.set)
    try:
        await receiver.start()
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", receiver.host, receiver.port, exc)
        await receiver.stop()
        return 2
    try:
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 60)
            s, p = receiver.stats, receiver.publisher.stats
            log.info(
                "frames=%d ack=%d nak=%d duh=%d queued=%d published=%d rejected=%d mqtt=%s",
                s.frames,
                s.acked,
                s.naked,
                s.duh,
                s.queued,
                p.published,
                sum(s.rejected.values()),
                p.mqtt_connected,
            )
    finally:
        await receiver.stop()
    return 0
