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
  message (:mod:`device_adapters.dc09_crypto` decrypts it with the account's key).
- ``<seq>`` four decimal digits; ``R<rcvr>`` optional and ``L<pref>`` required, one to six hex digits
  each; ``#<acct>`` three to sixteen hex digits.
- ``[<data>]``: for ``ADM-CID`` the Contact ID event ``#acct|QEEE GG ZZZ``, for ``SIA-DCS`` the SIA
  event data ``#acct|Nri1/WA003`` (:mod:`device_adapters.sia_dcs`), for ``NULL`` empty.
- ``[<x-data>]``: optional extended data, a letter and a value each (``[X...]`` longitude, ``[M...]``
  MAC address, ...). Kept, not interpreted.
- ``_HH:MM:SS,MM-DD-YYYY``: the panel's UTC time, optional on unencrypted messages.

Liberal where real panels differ from the standard (none of these is ever NAKed, which would make the
panel send the same frame again and again):

- the CRC as two binary bytes instead of four hex digits (Lupusec and OPAX panels; ioBroker.sia's
  receiver reads and answers them in kind), see :class:`Framing`;
- the CRC computed over the message and its closing CR (Eldes panels: five frames quoted in
  pysiaalarm issues #17 and #28 all check this way);
- no ``L<pref>`` field (the default of the dc09_spt dialler on PyPI), or ``L`` without digits (a
  Chinese alarm host quoted in ioBroker.sia issue #11);
- an account of letters and digits (dc09_spt's example uses ``YA247940``);
- in the payload, the account without its ``#`` (:mod:`device_adapters.contact_id`).

Answers are framed as the frame they answer (binary CRC, CRC over the length), and echo the header
as sent (no ``L`` when the panel sent none).

The receiver answers every frame on the same connection:

- ``ACK`` echoing seq, receiver, prefix and account (``"ACK"0001L0#1234[]``) when the message was
  received correctly (also for a well-formed message whose event code we do not know: it *was*
  received; the event is dead-lettered);
- ``NAK`` (``"NAK"0000R0L0A0[]_HH:MM:SS,MM-DD-YYYY``, with the receiver's time so the panel can
  correct its clock) when it was not: bad framing, CRC or length, malformed header, or a timestamp
  outside the window (+20 / -40 s of the receiver's time);
- ``DUH`` (echoing like ACK) when a correctly received message cannot be processed: an id other than
  ``SIA-DCS`` / ``ADM-CID`` / ``NULL``, a payload that does not parse, an encrypted message from an
  account without a key (or the wrong key).

Fail open: an event message that cannot be fully classified (unknown code, payload that does not
parse, unknown id, a key we lack) still becomes an ``unknown_alarm`` event for the panel, which the
gateway turns into a P2 order "unknown alarm from panel X"; the receiver also keeps the frame as a dead
letter with its reason.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from device_adapters.common import EVENT_ID_MAX, as_utc, is_device_id
from device_adapters.contact_id import CONTACT_ID_CODES, Address, CidCode, parse_contact_id
from device_adapters.events import DecodeError, EventKind
from device_adapters.native import encode_native
from device_adapters.sia_codes import SIA_CODES, SiaCode
from device_adapters.sia_dcs import parse_sia_dcs

__all__ = [
    "MAX_FRAME",
    "STANDARD",
    "Dc09Event",
    "Dc09Frame",
    "Framing",
    "answer_header",
    "build_ack",
    "build_duh",
    "build_message",
    "build_nak",
    "check_timestamp",
    "crc16_arc",
    "decode_events",
    "encode_frame",
    "format_timestamp",
    "frame_length",
    "guess_framing",
    "parse_frame",
    "unknown_alarm",
]

LF = b"\n"
CR = b"\r"
MAX_MESSAGE = 0xFFF
MAX_FRAME = 1 + 4 + 4 + MAX_MESSAGE + 1
TIME_PAST = timedelta(seconds=40)
TIME_FUTURE = timedelta(seconds=20)
DEVICE_PREFIX = "dc09"
EVENT_TOKENS = frozenset({"ADM-CID", "SIA-DCS", "NULL"})
ANSWER_TOKENS = frozenset({"ACK", "NAK", "DUH", "RSP"})

_HEX = frozenset("0123456789ABCDEFabcdef")
_DIGITS = frozenset("0123456789")
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
_ACCOUNT_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


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
class Framing:
    """How a panel frames its CRC. The standard: four hex digits, the CRC of the message alone. Seen
    in the field: two binary bytes (``binary_crc``) and a CRC over the message and its closing CR
    (``crc_covers_cr``). An answer is framed like the frame it answers."""

    binary_crc: bool = False
    crc_covers_cr: bool = False


STANDARD = Framing()


@dataclass(frozen=True, slots=True)
class Dc09Frame:
    """One frame whose CRC, length and header are good. ``data`` is the first bracket's content (the
    hex cipher text for an encrypted message, until decrypted). ``receiver``, ``line`` and ``account``
    are as sent (hex digits, case kept), so an answer can echo them; ``line`` is None when the panel
    sent no ``L`` field."""

    token: str
    encrypted: bool
    seq: str
    receiver: str | None
    line: str | None
    account: str
    data: str
    extended: tuple[tuple[str, str], ...] = ()
    timestamp: datetime | None = None
    message: str = ""
    framing: Framing = STANDARD
    decrypted: bool = False  # an encrypted frame whose ``data`` is now the plain text

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


def _run(text: str, start: int, lo: int, hi: int, chars: frozenset[str] = _HEX) -> int:
    """End index of a run of ``lo``..``hi`` characters of ``chars`` at ``start`` (-1 when too short)."""
    end = start
    while end < len(text) and end - start < hi and text[end] in chars:
        end += 1
    return end if end - start >= lo else -1


def _parse_header(message: str, pos: int) -> tuple[str, str | None, str | None, str, int]:
    """``<seq>[R<rcvr>][L<pref>]#<acct>`` at ``pos`` → (seq, receiver, line, account, end). The ``L``
    field may be missing or empty (real panels do both)."""
    seq = message[pos : pos + 4]
    if len(seq) != 4 or not _DIGITS.issuperset(seq):
        raise DecodeError("bad_seq", f"sequence {seq!r} is not four digits")
    pos += 4
    receiver: str | None = None
    if message.startswith("R", pos):
        end = _run(message, pos + 1, 1, 6)
        if end < 0:
            raise DecodeError("bad_receiver", "R must be followed by 1-6 hex digits")
        receiver, pos = message[pos + 1 : end], end
    line: str | None = None
    if message.startswith("L", pos):
        end = _run(message, pos + 1, 0, 6)
        if not message.startswith(("#", "["), end):
            raise DecodeError("bad_line", "L must be followed by 0-6 hex digits and the account")
        line, pos = message[pos + 1 : end], end
    if not message.startswith("#", pos):
        raise DecodeError("bad_account", "the account #<3-16 hex digits> is missing")
    end = _run(message, pos + 1, 3, 16, _ACCOUNT_CHARS)
    if end < 0 or not message.startswith("[", end):
        raise DecodeError("bad_account", "the account is #<3-16 hex digits> before '['")
    return seq, receiver, line, message[pos + 1 : end], end


def _binary_crc(frame: bytes) -> bool:
    """``LF bb 0LLL "``: a CRC of two binary bytes (``LF hhhh 0LLL "`` is the standard)."""
    if frame[5:6] == b"0" and frame[9:10] == b'"':
        return False
    return frame[3:4] == b"0" and frame[7:8] == b'"'


def frame_length(buf: bytes | bytearray) -> int | None:
    """The whole frame's length in bytes (LF to CR) by its length field, when ``buf`` starts with a
    frame's LF and enough of its head to tell; None otherwise. A stream reader needs it for binary
    CRCs, whose two bytes may be LF or CR."""
    if not buf.startswith(LF):
        return None
    head = 3 if _binary_crc(bytes(buf[:10])) else 5
    if len(buf) < head + 5 or buf[head : head + 1] != b"0" or buf[head + 4 : head + 5] != b'"':
        return None
    text = bytes(buf[head + 1 : head + 4])
    if not all(b in b"0123456789ABCDEFabcdef" for b in text):
        return None
    return head + 4 + int(text, 16) + 1


def guess_framing(frame: bytes) -> Framing:
    """The framing of a frame that may be broken, for the NAK that answers it."""
    binary = _binary_crc(frame[:10])
    head = 3 if binary else 5
    covers = False
    with contextlib.suppress(ValueError):
        sent = int.from_bytes(frame[1:head], "big") if binary else int(frame[1:head].decode("ascii"), 16)
        covers = sent != crc16_arc(frame[head + 4 : -1]) and sent == crc16_arc(frame[head + 4 :])
    return Framing(binary, covers)


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
    binary = _binary_crc(frame)
    head = 3 if binary else 5
    raw_crc, raw_len, raw_message = frame[1:head], frame[head : head + 4], frame[head + 4 : -1]
    if any(b < 0x20 or b > 0x7E for b in frame[head:-1]):
        raise DecodeError("bad_frame", "bytes other than printable ASCII between LF and CR")
    len_text, message = raw_len.decode("ascii"), raw_message.decode("ascii")
    if binary:
        sent = int.from_bytes(raw_crc, "big")
    else:
        crc_text = raw_crc.decode("ascii", "replace")
        if not _HEX.issuperset(crc_text):
            raise DecodeError("bad_crc", f"CRC field {crc_text!r} is not four hex digits")
        sent = int(crc_text, 16)
    computed = crc16_arc(raw_message)
    covers_cr = False
    if sent != computed:
        covers_cr = sent == crc16_arc(raw_message + CR)
        if not covers_cr:
            raise DecodeError("bad_crc", f"CRC is {sent:04X}, computed {computed:04X}")
    framing = Framing(binary, covers_cr)
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
        return Dc09Frame(token, True, seq, receiver, line, account, cipher, message=message, framing=framing)
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
    return Dc09Frame(token, False, seq, receiver, line, account, data, tuple(extended), timestamp, message, framing)


# -- building ---------------------------------------------------------------------------------


def encode_frame(message: str, framing: Framing = STANDARD) -> bytes:
    """``LF`` CRC ``0LLL`` message ``CR`` for one message (``"ACK"0001L0#1234[]`` ...), the CRC framed as
    ``framing`` says."""
    body = message.encode("ascii")
    if len(body) > MAX_MESSAGE:
        raise ValueError(f"message is {len(body)} bytes, over {MAX_MESSAGE}")
    length = f"0{len(body):03X}".encode("ascii")
    crc = crc16_arc(body + CR if framing.crc_covers_cr else body)
    crc_field = crc.to_bytes(2, "big") if framing.binary_crc else f"{crc:04X}".encode("ascii")
    return LF + crc_field + length + body + CR


def answer_header(frame: Dc09Frame) -> str:
    """``<seq>[R<rcvr>][L<pref>]#<acct>`` as the panel sent it."""
    receiver = f"R{frame.receiver}" if frame.receiver is not None else ""
    line = f"L{frame.line}" if frame.line is not None else ""
    return f"{frame.seq}{receiver}{line}#{frame.account}"


def build_ack(frame: Dc09Frame) -> bytes:
    """``"ACK"<seq>[R<rcvr>][L<pref>]#<acct>[]``: the message was received correctly."""
    return encode_frame(f'"ACK"{answer_header(frame)}[]', frame.framing)


def build_duh(frame: Dc09Frame) -> bytes:
    """``"DUH"<seq>[R<rcvr>][L<pref>]#<acct>[]``: received correctly, but not understood."""
    return encode_frame(f'"DUH"{answer_header(frame)}[]', frame.framing)


def build_nak(now: datetime, framing: Framing = STANDARD) -> bytes:
    """``"NAK"0000R0L0A0[]_HH:MM:SS,MM-DD-YYYY``: not received correctly; carries our time."""
    return encode_frame(f'"NAK"0000R0L0A0[]{format_timestamp(now)}', framing)


def build_message(
    token: str,
    seq: int,
    account: str,
    data: str = "",
    *,
    line: str | None = "0",
    receiver: str | None = None,
    extended: Sequence[tuple[str, str]] = (),
    timestamp: datetime | None = None,
    framing: Framing = STANDARD,
) -> bytes:
    """A panel's frame (for simulators and tests): ``build_message("ADM-CID", 1, "1234",
    "#1234|1154 01 003")``. ``line=None`` leaves the ``L`` field out."""
    if not 0 <= seq <= 9999:
        raise ValueError("seq must be 0..9999")
    receiver_part = f"R{receiver}" if receiver is not None else ""
    line_part = f"L{line}" if line is not None else ""
    x = "".join(f"[{k}{v}]" for k, v in extended)
    ts = format_timestamp(timestamp) if timestamp is not None else ""
    return encode_frame(f'"{token}"{seq:04d}{receiver_part}{line_part}#{account}[{data}]{x}{ts}', framing)


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

    @property
    def reason(self) -> str | None:
        """Why an ``unknown_alarm`` could not be classified (None for other kinds)."""
        return self.data.get("reason") if self.kind is EventKind.UNKNOWN_ALARM else None


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
    data: dict[str, Any] = {"token": frame.token, "account": frame.account_key, "seq": frame.seq}
    if frame.line is not None:
        data["line"] = frame.line
    if frame.receiver is not None:
        data["receiver"] = frame.receiver
    if frame.encrypted:
        data["encrypted"] = True
    if frame.extended:
        data["extended"] = [f"{k}{v}" for k, v in frame.extended]
    return data


def unknown_alarm(
    frame: Dc09Frame, received_at: datetime, reason: str, detail: str, *, code: str | None = None,
    account: str | None = None,
) -> Dc09Event:
    """The event of a message that cannot be fully classified: ``unknown_alarm`` of the panel, with
    the reason (fail open: a person looks at it)."""
    data = _base_data(frame)
    data.update({"reason": reason, "detail": detail[:300]})
    if code is not None:
        data["code"] = code
    if frame.data and (frame.decrypted or not frame.encrypted):
        data["payload"] = frame.data[:200]
    acct = (account or frame.account_key).upper()
    if acct != frame.account_key:
        data["alarm_account"] = acct
    try:
        device = device_id(acct)
    except DecodeError:
        device = device_id(frame.account_key)
    return Dc09Event(device, EventKind.UNKNOWN_ALARM, frame.timestamp or as_utc(received_at),
                     event_id(frame, received_at), code, data)


def _zone_number(number: str) -> str:
    """Zones as three digits (``4`` → ``004``), so one sensor has one device id in CID and SIA."""
    return f"{int(number):03d}" if number.isdigit() and len(number) <= 6 else number


def _contact_id_events(frame: Dc09Frame, received_at: datetime, codes: Mapping[str, CidCode]) -> list[Dc09Event]:
    try:
        cid = parse_contact_id(frame.data)
    except DecodeError as exc:
        return [unknown_alarm(frame, received_at, exc.reason, exc.detail)]
    # The payload's account is the alarm account (a forwarding transmitter may use its own account in
    # the header): it names the devices when present.
    account = cid.account.upper() if cid.account is not None else frame.account_key
    row = codes.get(cid.code)
    if row is None:
        event = unknown_alarm(frame, received_at, "unknown_event_code",
                              f"Contact ID event code {cid.code} is not in the table", code=cid.code, account=account)
        event.data.update({"qualifier": int(cid.qualifier), "group": cid.group, "number": cid.zone})
        return [event]
    data = _base_data(frame)
    if account != frame.account_key:
        data["alarm_account"] = account
    kind, value = cid.kind_and_value(codes)
    data.update({"code": cid.code, "event": row.name, "qualifier": int(cid.qualifier), "group": cid.group})
    if row.address is Address.USER:
        data["user"] = cid.zone
        device = device_id(account)
    else:
        data["zone"] = cid.zone
        device = device_id(account, cid.zone)
    return [Dc09Event(device, kind, frame.timestamp or as_utc(received_at), event_id(frame, received_at), value, data)]


def _sia_events(frame: Dc09Frame, received_at: datetime, codes: Mapping[str, SiaCode]) -> list[Dc09Event]:
    try:
        payload = parse_sia_dcs(frame.data)
    except DecodeError as exc:
        return [unknown_alarm(frame, received_at, exc.reason, exc.detail)]
    account = payload.account.upper() if payload.account else frame.account_key
    at = frame.timestamp or as_utc(received_at)
    base_id = event_id(frame, received_at)
    events: list[Dc09Event] = []
    for i, ev in enumerate(payload.events):
        eid = base_id if i == 0 else f"{base_id}:{i}"[:EVENT_ID_MAX]
        row = codes.get(ev.code)
        if row is None:
            unknown = unknown_alarm(frame, received_at, "unknown_event_code",
                                    f"SIA event code {ev.code} is not in the table", code=ev.code, account=account)
            unknown.data["number"] = ev.number
            events.append(Dc09Event(unknown.device_id, unknown.kind, at, eid, unknown.value, unknown.data))
            continue
        data = _base_data(frame)
        if account != frame.account_key:
            data["alarm_account"] = account
        data.update({"code": ev.code, "event": row.name})
        if payload.old:
            data["old"] = True
        if ev.area is not None:
            data["area"] = ev.area
        user = ev.user
        zone: str | None = None
        if row.address is Address.USER:
            user = ev.number or user
        elif ev.number:
            zone = _zone_number(ev.number)
        if zone is not None:
            data["zone"] = zone
        if user:
            data["user"] = user
        if ev.text:
            data["text"] = ev.text
        events.append(Dc09Event(device_id(account, zone), row.kind, at, eid, row.value, data))
    return events


def decode_events(
    frame: Dc09Frame,
    received_at: datetime,
    codes: Mapping[str, CidCode] = CONTACT_ID_CODES,
    sia_codes: Mapping[str, SiaCode] = SIA_CODES,
) -> list[Dc09Event]:
    """The events of one (decrypted) frame. ``NULL`` → one ``heartbeat`` of the panel; ``ADM-CID`` →
    one event by the Contact ID table; ``SIA-DCS`` → one event per code by the SIA table.

    Fail open: what cannot be classified (``unknown_event_code``, ``bad_payload``, ``bad_qualifier``,
    an id we do not know: ``unsupported_token``) becomes an ``unknown_alarm`` event whose
    ``data["reason"]`` says why. Raises only ``encrypted`` (decrypt it first, see
    :mod:`device_adapters.dc09_crypto`) and ``unsupported_token`` for answer ids (ACK, NAK, ...), which
    no panel sends to a receiver.
    """
    if frame.encrypted and not frame.decrypted:
        raise DecodeError("encrypted", f"*{frame.token} from account {frame.account}: decrypt it first")
    if frame.token in ANSWER_TOKENS:
        raise DecodeError("unsupported_token", f"id {frame.token!r} is an answer, not an event")
    if frame.token == "NULL":
        at = frame.timestamp or as_utc(received_at)
        return [Dc09Event(device_id(frame.account), EventKind.HEARTBEAT, at, event_id(frame, received_at), None,
                          _base_data(frame))]
    if frame.token == "ADM-CID":
        return _contact_id_events(frame, received_at, codes)
    if frame.token == "SIA-DCS":
        return _sia_events(frame, received_at, sia_codes)
    return [unknown_alarm(frame, received_at, "unsupported_token",
                          f"id {frame.token!r} (understood: {', '.join(sorted(EVENT_TOKENS))})")]
