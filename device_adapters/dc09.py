"""SIA DC-09 (ANSI/SIA DC-09, "Internet Protocol Event Reporting") framing, pure: parse and build
frames, the CRC, the ACK / NAK / DUH answers, and the events of ``ADM-CID`` (Contact ID) and ``NULL``
messages. No I/O; the time is always an argument.

A frame, as a premises alarm panel sends it over TCP::

    <LF> <crc> <0LLL> "<id>" <seq> [R<rcvr>] L<pref> #<acct> [<data>] [<x-data>]... [_<timestamp>] <CR>

- ``<crc>``: four hex digits, CRC-16/ARC (poly 0x8005 reflected = 0xA001, init 0, the CRC of
  SIA DC-07) of the *message*: every byte from the opening ``"`` of the id up to, not including, the
  ``<CR>``. ``crc16_arc(b"123456789") == 0xBB3D``.
- ``<0LLL>``: ``0`` and the message length in three hex digits.
- ``<id>``: ``SIA-DCS``, ``ADM-CID``, ``NULL`` (link test); ``*`` before it marks an AES-encrypted
  message (not supported here: answered with DUH, see below).
- ``<seq>`` four decimal digits; ``R<rcvr>`` optional and ``L<pref>`` required, one to six hex digits
  each; ``#<acct>`` three to sixteen hex digits.
- ``[<data>]``: for ``ADM-CID`` the Contact ID event ``#acct|QEEE GG ZZZ``, for ``NULL`` empty.
- ``[<x-data>]``: optional extended data, a letter and a value each (``[X...]`` longitude, ``[M...]``
  MAC address, ...). Kept, not interpreted.
- ``_HH:MM:SS,MM-DD-YYYY``: the panel's UTC time, optional on unencrypted messages.

The receiver answers every frame on the same connection:

- ``ACK`` echoing seq, receiver, prefix and account (``"ACK"0001L0#1234[]``) when the message was
  received correctly (also for a well-formed message whose event code we do not know: it *was*
  received; the event is dead-lettered);
- ``NAK`` (``"NAK"0000R0L0A0[]_HH:MM:SS,MM-DD-YYYY``, with the receiver's time so the panel can
  correct its clock) when it was not: bad framing, CRC or length, malformed header, or a timestamp
  outside the window (+20 / -40 s of the receiver's time);
- ``DUH`` (echoing like ACK) when a correctly received message cannot be processed: an encrypted
  message, an id other than ``ADM-CID`` / ``NULL``, or a Contact ID payload that does not parse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from device_adapters.common import EVENT_ID_MAX, as_utc, is_device_id
from device_adapters.contact_id import CONTACT_ID_CODES, CidCode, ContactIdEvent, parse_contact_id
from device_adapters.events import DecodeError, EventKind
from device_adapters.native import encode_native

__all__ = [
    "MAX_FRAME",
    "Dc09Event",
    "Dc09Frame",
    "build_ack",
    "build_duh",
    "build_message",
    "build_nak",
    "check_timestamp",
    "crc16_arc",
    "decode_events",
    "encode_frame",
    "format_timestamp",
    "parse_frame",
]

LF = b"\n"
CR = b"\r"
MAX_MESSAGE = 0xFFF
MAX_FRAME = 1 + 4 + 4 + MAX_MESSAGE + 1
TIME_PAST = timedelta(seconds=40)
TIME_FUTURE = timedelta(seconds=20)
DEVICE_PREFIX = "dc09"
EVENT_TOKENS = frozenset({"ADM-CID", "NULL"})

_HEX = frozenset("0123456789ABCDEFabcdef")
_DIGITS = frozenset("0123456789")
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _make_table()


def crc16_arc(data: bytes) -> int:
    """CRC-16/ARC: poly 0x8005 reflected (0xA001), init 0, no final xor. The CRC of SIA DC-07 / DC-09."""
    crc = 0
    table = _CRC_TABLE
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc


@dataclass(frozen=True, slots=True)
class Dc09Frame:
    """One frame whose CRC, length and header are good. ``data`` is the first bracket's content (the
    hex cipher text for an encrypted message). ``receiver``, ``line`` and ``account`` are as sent
    (hex digits, case kept), so an answer can echo them."""

    token: str
    encrypted: bool
    seq: str
    receiver: str | None
    line: str
    account: str
    data: str
    extended: tuple[tuple[str, str], ...] = ()
    timestamp: datetime | None = None
    message: str = ""

    @property
    def account_key(self) -> str:
        """The account, upper-case: what device ids are made of."""
        return self.account.upper()


# -- timestamps -------------------------------------------------------------------------------


def format_timestamp(at: datetime) -> str:
    """``_HH:MM:SS,MM-DD-YYYY`` in UTC."""
    return as_utc(at).strftime("_%H:%M:%S,%m-%d-%Y")


def _parse_timestamp(text: str) -> datetime:
    # "_HH:MM:SS,MM-DD-YYYY"
    if (
        len(text) != 20
        or text[0] != "_"
        or text[3] != ":"
        or text[6] != ":"
        or text[9] != ","
        or text[12] != "-"
        or text[15] != "-"
        or not _DIGITS.issuperset(text[1:3] + text[4:6] + text[7:9] + text[10:12] + text[13:15] + text[16:])
    ):
        raise DecodeError("bad_ts", f"timestamp {text[:24]!r} is not _HH:MM:SS,MM-DD-YYYY")
    try:
        return datetime(
            int(text[16:20]),
            int(text[10:12]),
            int(text[13:15]),
            int(text[1:3]),
            int(text[4:6]),
            int(text[7:9]),
            tzinfo=UTC,
        )
    except ValueError as exc:
        raise DecodeError("bad_ts", f"timestamp {text!r}: {exc}") from None


def check_timestamp(
    frame: Dc09Frame, now: datetime, *, past: timedelta = TIME_PAST, future: timedelta = TIME_FUTURE
) -> None:
    """``timestamp_out_of_window`` when the frame's timestamp is more than ``past`` before or
    ``future`` after ``now``. A frame without a timestamp passes."""
    if frame.timestamp is None:
        return
    now = as_utc(now)
    if not now - past <= frame.timestamp <= now + future:
        skew = (frame.timestamp - now).total_seconds()
        raise DecodeError(
            "timestamp_out_of_window",
            f"timestamp is {skew:+.0f} s from the receiver's clock (allowed -{past.total_seconds():.0f}"
            f"/+{future.total_seconds():.0f} s)",
        )


# -- parsing ----------------------------------------------------------------------------------


def _hex_run(text: str, start: int, lo: int, hi: int) -> int:
    """End index of a run of ``lo``..``hi`` hex digits at ``start`` (-1 when too short)."""
    end = start
    while end < len(text) and end - start < hi and text[end] in _HEX:
        end += 1
    return end if end - start >= lo else -1


def _parse_header(message: str, pos: int) -> tuple[str, str | None, str, str, int]:
    """``<seq>[R<rcvr>]L<pref>#<acct>`` at ``pos`` → (seq, receiver, line, account, end)."""
    seq = message[pos : pos + 4]
    if len(seq) != 4 or not _DIGITS.issuperset(seq):
        raise DecodeError("bad_seq", f"sequence {seq!r} is not four digits")
    pos += 4
    receiver: str | None = None
    if message.startswith("R", pos):
        end = _hex_run(message, pos + 1, 1, 6)
        if end < 0:
            raise DecodeError("bad_receiver", "R must be followed by 1-6 hex digits")
        receiver, pos = message[pos + 1 : end], end
    if not message.startswith("L", pos):
        raise DecodeError("bad_line", "the line prefix L<1-6 hex digits> is missing")
    end = _hex_run(message, pos + 1, 1, 6)
    if end < 0:
        raise DecodeError("bad_line", "L must be followed by 1-6 hex digits")
    line, pos = message[pos + 1 : end], end
    if not message.startswith("#", pos):
        raise DecodeError("bad_account", "the account #<3-16 hex digits> is missing")
    end = _hex_run(message, pos + 1, 3, 16)
    if end < 0 or not message.startswith("[", end):
        raise DecodeError("bad_account", "the account is #<3-16 hex digits> before '['")
    return seq, receiver, line, message[pos + 1 : end], end


def parse_frame(frame: bytes) -> Dc09Frame:
    """Check and split one frame (``LF`` ... ``CR`` included).

    Reasons: ``too_long``, ``bad_frame`` (no LF/CR, not printable ASCII, no quoted id, trailing
    bytes), ``bad_crc`` (CRC field malformed or wrong), ``bad_length`` (length field malformed or not
    the message length), ``bad_seq``, ``bad_receiver``, ``bad_line``, ``bad_account``, ``bad_data``,
    ``bad_ts``. The CRC is checked before anything inside the message.
    """
    if len(frame) > MAX_FRAME:
        raise DecodeError("too_long", f"frame is {len(frame)} bytes, over {MAX_FRAME}")
    if not frame.startswith(LF) or not frame.endswith(CR):
        raise DecodeError("bad_frame", "a frame starts with LF and ends with CR")
    if len(frame) < 1 + 4 + 4 + 2 + 1:
        raise DecodeError("bad_frame", f"frame is only {len(frame)} bytes")
    raw_crc, raw_len, raw_message = frame[1:5], frame[5:9], frame[9:-1]
    if any(b < 0x20 or b > 0x7E for b in frame[1:-1]):
        raise DecodeError("bad_frame", "bytes other than printable ASCII between LF and CR")
    crc_text, len_text, message = raw_crc.decode("ascii"), raw_len.decode("ascii"), raw_message.decode("ascii")
    if not _HEX.issuperset(crc_text):
        raise DecodeError("bad_crc", f"CRC field {crc_text!r} is not four hex digits")
    computed = crc16_arc(raw_message)
    if int(crc_text, 16) != computed:
        raise DecodeError("bad_crc", f"CRC is {crc_text.upper()}, computed {computed:04X}")
    if len_text[0] != "0" or not _HEX.issuperset(len_text):
        raise DecodeError("bad_length", f"length field {len_text!r} is not 0LLL (hex)")
    if int(len_text, 16) != len(message):
        raise DecodeError("bad_length", f"length field says {int(len_text, 16)}, the message is {len(message)}")

    if not message.startswith('"'):
        raise DecodeError("bad_frame", "the message does not start with a quoted id")
    close = message.find('"', 1)
    if close < 0:
        raise DecodeError("bad_frame", "the id has no closing quote")
    token = message[1:close]
    encrypted = token.startswith("*")
    if encrypted:
        token = token[1:]
    if not token or not _TOKEN_CHARS.issuperset(token):
        raise DecodeError("bad_frame", f"id {token[:20]!r} is not [A-Z0-9-]+")
    pos = close + 1

    if token == "NAK":  # the one fixed header: "NAK"0000R0L0A0[]_<timestamp>
        if not message.startswith("0000R0L0A0[", pos):
            raise DecodeError("bad_frame", 'a NAK is "NAK"0000R0L0A0[]_<timestamp>')
        seq, receiver, line, account, pos = "0000", "0", "0", "0", pos + 10
    else:
        seq, receiver, line, account, pos = _parse_header(message, pos)
    if not message.startswith("[", pos):
        raise DecodeError("bad_data", "no data block '['")
    if encrypted:
        cipher = message[pos + 1 :]
        if not cipher or not _HEX.issuperset(cipher):
            raise DecodeError("bad_data", "an encrypted data block is hex digits to the end")
        return Dc09Frame(token, True, seq, receiver, line, account, cipher, message=message)
    close = message.find("]", pos)
    if close < 0:
        raise DecodeError("bad_data", "the data block has no ']'")
    data = message[pos + 1 : close]
    if "[" in data:
        raise DecodeError("bad_data", "'[' inside the data block")
    pos = close + 1

    extended: list[tuple[str, str]] = []
    while message.startswith("[", pos):
        close = message.find("]", pos)
        block = message[pos + 1 : close] if close > 0 else ""
        if close < 0 or not block or not block[0].isalpha() or "[" in block:
            raise DecodeError("bad_data", f"extended data {message[pos : pos + 24]!r} is not [<letter><value>]")
        extended.append((block[0], block[1:]))
        pos = close + 1

    timestamp: datetime | None = None
    if pos < len(message):
        if message[pos] != "_":
            raise DecodeError("bad_frame", f"unexpected {message[pos : pos + 20]!r} after the data")
        timestamp = _parse_timestamp(message[pos:])
    return Dc09Frame(token, False, seq, receiver, line, account, data, tuple(extended), timestamp, message)


# -- building ---------------------------------------------------------------------------------


def encode_frame(message: str) -> bytes:
    """``LF`` CRC ``0LLL`` message ``CR`` for one message (``"ACK"0001L0#1234[]`` ...)."""
    body = message.encode("ascii")
    if len(body) > MAX_MESSAGE:
        raise ValueError(f"message is {len(body)} bytes, over {MAX_MESSAGE}")
    return LF + f"{crc16_arc(body):04X}0{len(body):03X}".encode("ascii") + body + CR


def _header(frame: Dc09Frame) -> str:
    receiver = f"R{frame.receiver}" if frame.receiver is not None else ""
    return f"{frame.seq}{receiver}L{frame.line}#{frame.account}"


def build_ack(frame: Dc09Frame) -> bytes:
    """``"ACK"<seq>[R<rcvr>]L<pref>#<acct>[]``: the message was received correctly."""
    return encode_frame(f'"ACK"{_header(frame)}[]')


def build_duh(frame: Dc09Frame) -> bytes:
    """``"DUH"<seq>[R<rcvr>]L<pref>#<acct>[]``: received correctly, but not understood."""
    return encode_frame(f'"DUH"{_header(frame)}[]')


def build_nak(now: datetime) -> bytes:
    """``"NAK"0000R0L0A0[]_HH:MM:SS,MM-DD-YYYY``: not received correctly; carries our time."""
    return encode_frame(f'"NAK"0000R0L0A0[]{format_timestamp(now)}')


def build_message(
    token: str,
    seq: int,
    account: str,
    data: str = "",
    *,
    line: str = "0",
    receiver: str | None = None,
    extended: Sequence[tuple[str, str]] = (),
    timestamp: datetime | None = None,
) -> bytes:
    """A panel's frame (for simulators and tests): ``build_message("ADM-CID", 1, "1234",
    "#1234|1154 01 003")``."""
    if not 0 <= seq <= 9999:
        raise ValueError("seq must be 0..9999")
    receiver_part = f"R{receiver}" if receiver is not None else ""
    x = "".join(f"[{k}{v}]" for k, v in extended)
    ts = format_timestamp(timestamp) if timestamp is not None else ""
    return encode_frame(f'"{token}"{seq:04d}{receiver_part}L{line}#{account}[{data}]{x}{ts}')


# -- events -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Dc09Event:
    """One normalized event of a DC-09 message, ready to go out as a native message."""

    device_id: str
    kind: EventKind
    at: datetime
    event_id: str
    value: Any = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_native(self) -> tuple[str, bytes]:
        return encode_native(
            self.device_id, self.kind, at=self.at, event_id=self.event_id, value=self.value, data=self.data
        )


def device_id(account: str, zone: str | None = None) -> str:
    """``dc09-<ACCOUNT>`` for the panel (also zone ``000``), ``dc09-<ACCOUNT>-<ZZZ>`` for a zone."""
    acct = account.upper()
    name = f"{DEVICE_PREFIX}-{acct}" if zone is None or zone.strip("0") == "" else f"{DEVICE_PREFIX}-{acct}-{zone}"
    if not is_device_id(name):
        raise DecodeError("bad_device_id", f"device id {name!r}")
    return name


def event_id(frame: Dc09Frame, received_at: datetime) -> str:
    """``dc09:<ACCOUNT>:<seq>:<stamp>``: ``<stamp>`` is the panel's timestamp (``YYYYMMDDTHHMMSS``) or,
    without one, ``rx`` + the receive time in Unix milliseconds. A panel repeating a message (same seq,
    same timestamp) therefore repeats the id, and the gateway counts it once."""
    if frame.timestamp is not None:
        stamp = frame.timestamp.strftime("%Y%m%dT%H%M%S")
    else:
        stamp = f"rx{int(as_utc(received_at).timestamp() * 1000)}"
    value = f"{DEVICE_PREFIX}:{frame.account_key}:{frame.seq}:{stamp}"
    return value[:EVENT_ID_MAX]


def _base_data(frame: Dc09Frame) -> dict[str, Any]:
    data: dict[str, Any] = {"token": frame.token, "account": frame.account_key, "seq": frame.seq, "line": frame.line}
    if frame.receiver is not None:
        data["receiver"] = frame.receiver
    if frame.extended:
        data["extended"] = [f"{k}{v}" for k, v in frame.extended]
    return data


def decode_events(
    frame: Dc09Frame, received_at: datetime, codes: Mapping[str, CidCode] = CONTACT_ID_CODES
) -> list[Dc09Event]:
    """The events of one frame. ``NULL`` → one ``heartbeat`` of the panel; ``ADM-CID`` → one event
    by the Contact ID table.

    Reasons (the receiver answers DUH to all but the last): ``encrypted_unsupported``,
    ``unsupported_token``, ``bad_payload``, ``bad_qualifier``; ``unknown_event_code`` (answered
    ACK: the message arrived intact).
    """
    if frame.encrypted:
        raise DecodeError("encrypted_unsupported", f"*{frame.token} from account {frame.account}: no AES keys here")
    if frame.token not in EVENT_TOKENS:
        raise DecodeError("unsupported_token", f"id {frame.token!r} (understood: {', '.join(sorted(EVENT_TOKENS))})")
    at = frame.timestamp or as_utc(received_at)
    eid = event_id(frame, received_at)
    data = _base_data(frame)
    if frame.token == "NULL":
        return [Dc09Event(device_id(frame.account), EventKind.HEARTBEAT, at, eid, None, data)]
    cid: ContactIdEvent = parse_contact_id(frame.data)
    # The payload's account is the alarm account (a forwarding transmitter may use its own account in
    # the header): it names the devices when present.
    account = cid.account.upper() if cid.account is not None else frame.account_key
    if account != frame.account_key:
        data["alarm_account"] = account
    row = cid.lookup(codes)
    kind, value = cid.kind_and_value(codes)
    data.update(
        {
            "code": cid.code,
            "event": row.name,
            "qualifier": int(cid.qualifier),
            "group": cid.group,
            "zone": cid.zone,
        }
    )
    return [Dc09Event(device_id(account, cid.zone), kind, at, eid, value, data)]
