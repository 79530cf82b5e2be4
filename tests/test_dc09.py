"""SIA DC-09 framing and Contact ID, pure: real frames from public sources, built frames, and every
way a frame can be refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from device_adapters.contact_id import (
    CONTACT_ID_CODES,
    KNOWN_CODES,
    CidCode,
    Qualifier,
    build_table,
    parse_contact_id,
)
from device_adapters.dc09 import (
    Dc09Frame,
    build_ack,
    build_duh,
    build_message,
    build_nak,
    check_timestamp,
    crc16_arc,
    decode_events,
    encode_frame,
    event_id,
    format_timestamp,
    parse_frame,
)
from device_adapters.events import DecodeError, EventKind
from device_adapters.native import decode_native

T0 = datetime(2026, 11, 28, 4, 30, tzinfo=UTC)

# Frames published with receiver/decoder test suites (SIADC09Debugger's vectors, the Rust `dc09`
# crate's tests, a Visonic PowerLink3 capture). Each CRC and length was recomputed here and is right.
PUBLIC_SIA_XDATA = (
    b'\n7C37006b"SIA-DCS"0000RC0FFDL1234#080027E62A64'
    b"[#080027E62A64|NHB0003][X115000][X115000][X115000]_13:53:11,06-22-2015\r"
)
PUBLIC_NULL = b'\n1D85002B"NULL"0001L0#00653210[]_09:17:32,05-18-2016\r'
PUBLIC_CID_628 = b'\nB0AC0027"ADM-CID"0001L0#7099[#7099|1628 01 000]\r'
PUBLIC_CID_131 = b'\nA18D0027"ADM-CID"0001L0#7099[#7099|1131 01 003]\r'
PUBLIC_ENCRYPTED = (
    b'\nE88800a7"*SIA-DCS"0000RC0FFDL1234#080027E62A64'
    b"[A054F111518361720BAB126501C6D994CD9151D2C84881C0FEA933A0790F49A9"
    b"236EBD45F2AED32FAA252EB1AA18FC3CDEDE2452F33185E5931D31308D9B9882\r"
)
PUBLIC_ACK = b'\n2729002e"ACK"0001L0#080027E62A64[]_16:07:07,04-14-2015\r'
PUBLIC_SIA_RECEIVER = b'\nF4D20029"SIA-DCS"0001RF3L77#1234[#1234|NRR|Atest]\r'
VISONIC_NAK = b'\nE5630025"NAK"0000R0L0A0[]_10:10:18,07-30-2024\r'  # a receiver's real answer
STANDARD_NAK = b'\n3C830025"NAK"0000R0L0A0[]_16:09:09,04-14-2015\r'


def frame_with(message: str, *, crc: str | None = None, length: str | None = None) -> bytes:
    """A frame around ``message`` with a chosen (possibly wrong) CRC or length field."""
    body = message.encode()
    crc_text = crc if crc is not None else f"{crc16_arc(body):04X}"
    len_text = length if length is not None else f"0{len(body):03X}"
    return b"\n" + crc_text.encode() + len_text.encode() + body + b"\r"


def cid(seq: int, event: str, account: str = "1234", **kw: object) -> bytes:
    return build_message("ADM-CID", seq, account, f"#{account}|{event}", **kw)  # type: ignore[arg-type]


# --- CRC ---------------------------------------------------------------------------------------


def test_crc16_arc_check_value() -> None:
    assert crc16_arc(b"123456789") == 0xBB3D  # CRC-16/ARC's catalogued check value
    assert crc16_arc(b"") == 0


# --- real frames ------------------------------------------------------------------------------


def test_public_sia_frame_with_extended_data() -> None:
    f = parse_frame(PUBLIC_SIA_XDATA)
    assert (f.token, f.encrypted, f.seq, f.receiver, f.line, f.account) == (
        "SIA-DCS",
        False,
        "0000",
        "C0FFD",
        "1234",
        "080027E62A64",
    )
    assert f.data == "#080027E62A64|NHB0003"
    assert f.extended == (("X", "115000"),) * 3
    assert f.timestamp == datetime(2015, 6, 22, 13, 53, 11, tzinfo=UTC)
    # SIA-DCS content is not decoded: answered with DUH
    with pytest.raises(DecodeError) as err:
        decode_events(f, T0)
    assert err.value.reason == "unsupported_token"


def test_public_null_message_is_a_heartbeat_of_the_panel() -> None:
    f = parse_frame(PUBLIC_NULL)
    [ev] = decode_events(f, T0)
    assert (ev.device_id, ev.kind, ev.at) == (
        "dc09-00653210",
        EventKind.HEARTBEAT,
        datetime(2016, 5, 18, 9, 17, 32, tzinfo=UTC),
    )
    assert ev.event_id == "dc09:00653210:0001:20160518T091732"


@pytest.mark.parametrize("frame, code", [(PUBLIC_CID_628, "628"), (PUBLIC_CID_131, "131")])
def test_public_contact_id_frames_with_codes_we_do_not_map(frame: bytes, code: str) -> None:
    f = parse_frame(frame)
    assert (f.token, f.account, f.receiver, f.line) == ("ADM-CID", "7099", None, "0")
    assert parse_contact_id(f.data).code == code
    with pytest.raises(DecodeError) as err:
        decode_events(f, T0)
    assert err.value.reason == "unknown_event_code"


def test_public_encrypted_frame_parses_but_is_refused() -> None:
    f = parse_frame(PUBLIC_ENCRYPTED)
    assert f.encrypted and f.token == "SIA-DCS" and f.account == "080027E62A64"
    with pytest.raises(DecodeError) as err:
        decode_events(f, T0)
    assert err.value.reason == "encrypted_unsupported"


def test_public_answers_parse() -> None:
    ack = parse_frame(PUBLIC_ACK)  # lower-case hex in the length field is accepted
    assert (ack.token, ack.seq, ack.account) == ("ACK", "0001", "080027E62A64")
    assert parse_frame(PUBLIC_SIA_RECEIVER).receiver == "F3"
    for nak in (VISONIC_NAK, STANDARD_NAK):
        assert parse_frame(nak).token == "NAK"


def test_nak_is_byte_for_byte_what_receivers_send() -> None:
    assert build_nak(datetime(2024, 7, 30, 10, 10, 18, tzinfo=UTC)) == VISONIC_NAK
    assert build_nak(datetime(2015, 4, 14, 16, 9, 9, tzinfo=UTC)) == STANDARD_NAK


def test_ack_and_duh_echo_the_header_as_sent() -> None:
    f = parse_frame(
        b'\n7ea80059"SIA-DCS"0000Rc0ffdL1234#080027E62A64[#080027E62A64|NHB0003][E115000]_09:00:13,06-23-2015\r'
    )
    assert build_ack(f) == encode_frame('"ACK"0000Rc0ffdL1234#080027E62A64[]')
    assert build_duh(f) == encode_frame('"DUH"0000Rc0ffdL1234#080027E62A64[]')
    # The same answer pysiaalarm 3.2.2 builds for this frame (an independent implementation).
    restore = parse_frame(build_message("ADM-CID", 13, "1234", "#1234|3384 01 007", receiver="5", line="2"))
    assert build_ack(restore) == b'\n548D0014"ACK"0013R5L2#1234[]\r'
    no_receiver = parse_frame(PUBLIC_CID_131)
    assert build_ack(no_receiver) == b"\n" + b"%04X" % crc16_arc(b'"ACK"0001L0#7099[]') + b'0012"ACK"0001L0#7099[]\r'
    assert parse_frame(build_ack(no_receiver)).token == "ACK"


# --- Contact ID mapping -----------------------------------------------------------------------

EXPECTED = {
    "100": (EventKind.SOS, EventKind.TELEMETRY),
    "101": (EventKind.SOS, EventKind.TELEMETRY),
    "154": (EventKind.LEAK, EventKind.LEAK_CLEARED),
    "302": (EventKind.BATTERY_LOW, EventKind.BATTERY_OK),
    "384": (EventKind.BATTERY_LOW, EventKind.BATTERY_OK),
    "137": (EventKind.TAMPER, EventKind.TAMPER_CLEARED),
    "383": (EventKind.TAMPER, EventKind.TAMPER_CLEARED),
    "147": (EventKind.AVAILABILITY, EventKind.AVAILABILITY),
    "381": (EventKind.AVAILABILITY, EventKind.AVAILABILITY),
    "355": (EventKind.AVAILABILITY, EventKind.AVAILABILITY),
    "301": (EventKind.POWER_LOST, EventKind.POWER_RESTORED),
    "602": (EventKind.HEARTBEAT, EventKind.HEARTBEAT),
}


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_event_codes_new_status_and_restore(code: str) -> None:
    new, restore = EXPECTED[code]
    at = T0 - timedelta(seconds=5)
    for qualifier, kind in (("1", new), ("6", new), ("3", restore)):
        f = parse_frame(cid(7, f"{qualifier}{code} 01 004", timestamp=at))
        [ev] = decode_events(f, T0)
        assert ev.kind == kind, (code, qualifier)
        assert ev.device_id == "dc09-1234-004"
        assert ev.at == at
        assert ev.data["code"] == code and ev.data["qualifier"] == int(qualifier)
        assert ev.data["zone"] == "004" and ev.data["group"] == "01"
    if new is EventKind.AVAILABILITY:
        assert decode_events(parse_frame(cid(1, f"1{code} 01 004")), T0)[0].value == "offline"
        assert decode_events(parse_frame(cid(1, f"3{code} 01 004")), T0)[0].value == "online"


def test_the_table_is_the_one_the_issue_asks_for() -> None:
    assert set(EXPECTED) == set(CONTACT_ID_CODES)


def test_event_becomes_a_valid_native_message() -> None:
    f = parse_frame(cid(42, "1101 01 012", receiver="5", line="2", timestamp=T0))
    [ev] = decode_events(f, T0 + timedelta(seconds=1))
    topic, payload = ev.to_native()
    native = decode_native(topic, payload, T0)
    assert topic == "shewu/v1/dc09-1234-012/event"
    assert (native.kind, native.at, native.event_id, native.value) == (
        EventKind.SOS,
        T0,
        "dc09:1234:0042:20261128T043000",
        "personal_emergency",
    )
    assert native.raw == {
        "token": "ADM-CID",
        "account": "1234",
        "seq": "0042",
        "line": "2",
        "receiver": "5",
        "code": "101",
        "event": "personal_emergency",
        "qualifier": 1,
        "group": "01",
        "zone": "012",
    }


def test_zone_000_is_the_panel_and_accounts_are_upper_cased() -> None:
    [ev] = decode_events(parse_frame(cid(1, "1301 00 000", account="12ab")), T0)
    assert (ev.device_id, ev.kind) == ("dc09-12AB", EventKind.POWER_LOST)


def test_payload_account_names_the_devices_when_it_differs_from_the_header() -> None:
    f = parse_frame(build_message("ADM-CID", 3, "9999", "#5678|1154 01 002"))
    [ev] = decode_events(f, T0)
    assert ev.device_id == "dc09-5678-002"
    assert ev.data["alarm_account"] == "5678" and ev.data["account"] == "9999"


def test_event_id_without_a_timestamp_uses_the_receive_time() -> None:
    f = parse_frame(cid(9, "1154 01 001"))
    assert event_id(f, T0) == f"dc09:1234:0009:rx{int(T0.timestamp() * 1000)}"
    assert decode_events(f, T0)[0].at == T0


@pytest.mark.parametrize(
    "data, reason",
    [
        ("#1234|1154 1 003", "bad_payload"),
        ("#1234|1154 01 03", "bad_payload"),
        ("#1234|1154-01-003", "bad_payload"),
        ("#1234|11X4 01 003", "bad_payload"),
        ("#12|1154 01 003", "bad_payload"),
        ("", "bad_payload"),
        ("#1234|2154 01 003", "bad_qualifier"),
        ("#1234|1999 01 003", "unknown_event_code"),
    ],
)
def test_contact_id_payload_errors(data: str, reason: str) -> None:
    f = parse_frame(build_message("ADM-CID", 1, "1234", data))
    with pytest.raises(DecodeError) as err:
        decode_events(f, T0)
    assert err.value.reason == reason


def test_contact_id_without_account_part() -> None:
    ev = parse_contact_id("3154 02 007")
    assert (ev.account, ev.qualifier, ev.code, ev.group, ev.zone) == (None, Qualifier.RESTORE, "154", "02", "007")


def test_code_table_is_data() -> None:
    table = build_table([*KNOWN_CODES, CidCode("120", "panic", EventKind.SOS)])
    [ev] = decode_events(parse_frame(cid(1, "1120 01 001")), T0, table)
    assert ev.kind is EventKind.SOS
    with pytest.raises(ValueError):
        build_table([*KNOWN_CODES, CidCode("154", "again", EventKind.LEAK)])
    with pytest.raises(ValueError):
        CidCode("15", "short", EventKind.LEAK)


# --- malformed frames -------------------------------------------------------------------------

GOOD = '"ADM-CID"0001L0#1234[#1234|1154 01 003]'


def test_good_reference_frame() -> None:
    assert parse_frame(frame_with(GOOD)).account == "1234"


@pytest.mark.parametrize(
    "frame, reason",
    [
        (frame_with(GOOD, crc="0000"), "bad_crc"),
        (frame_with(GOOD, crc="ZZZZ"), "bad_crc"),
        (frame_with(GOOD).replace(b"1154", b"1155"), "bad_crc"),  # damaged in transit
        (frame_with(GOOD)[:-8] + b"\r", "bad_crc"),  # truncated
        (frame_with(GOOD, length="0026"), "bad_length"),  # wrong length, CRC right
        (frame_with(GOOD, length="1028"), "bad_length"),  # not 0LLL
        (frame_with(GOOD, length="00G8"), "bad_length"),
        (frame_with(GOOD)[1:], "bad_frame"),  # no LF
        (frame_with(GOOD)[:-1], "bad_frame"),  # no CR
        (b"\n\r", "bad_frame"),
        (frame_with(GOOD.replace("1154", "1154\x01")), "bad_frame"),
        (frame_with('ADM-CID"0001L0#1234[]'), "bad_frame"),
        (frame_with('"ADM-CID0001L0#1234[]'), "bad_frame"),
        (frame_with('"adm cid"0001L0#1234[]'), "bad_frame"),
        (frame_with('"ADM-CID"001L0#1234[]'), "bad_seq"),
        (frame_with('"ADM-CID"0001R#1234[]'), "bad_receiver"),
        (frame_with('"ADM-CID"0001#1234[]'), "bad_line"),
        (frame_with('"ADM-CID"0001LX#1234[]'), "bad_line"),
        (frame_with('"ADM-CID"0001L0[]'), "bad_account"),
        (frame_with('"ADM-CID"0001L0#12[]'), "bad_account"),
        (frame_with('"ADM-CID"0001L0#12345678901234567[]'), "bad_account"),
        (frame_with('"ADM-CID"0001L0#1234[#1234|1154 01 003'), "bad_data"),
        (frame_with('"ADM-CID"0001L0#1234[#1234|1154 01 003][]'), "bad_data"),
        (frame_with('"*ADM-CID"0001L0#1234[XYZ'), "bad_data"),
        (frame_with('"ADM-CID"0001L0#1234[]junk'), "bad_frame"),
        (frame_with('"ADM-CID"0001L0#1234[]_25:00:00,01-01-2026'), "bad_ts"),
        (frame_with('"ADM-CID"0001L0#1234[]_10:00:00,13-01-2026'), "bad_ts"),
        (frame_with('"ADM-CID"0001L0#1234[]_10:00:00,01-01-26'), "bad_ts"),
        (frame_with('"NAK"0001L0#1234[]'), "bad_frame"),
        (b"\n" + b"0" * 5000 + b"\r", "too_long"),
    ],
)
def test_malformed_frames(frame: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as err:
        parse_frame(frame)
    assert err.value.reason == reason, err.value


# --- timestamps -------------------------------------------------------------------------------


def test_timestamp_format() -> None:
    assert format_timestamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "_03:04:05,01-02-2026"


@pytest.mark.parametrize("offset, ok", [(-40, True), (-41, False), (0, True), (20, True), (21, False), (-3600, False)])
def test_timestamp_window_is_plus_20_minus_40_seconds(offset: int, ok: bool) -> None:
    f = parse_frame(cid(1, "1154 01 001", timestamp=T0 + timedelta(seconds=offset)))
    if ok:
        check_timestamp(f, T0)
    else:
        with pytest.raises(DecodeError) as err:
            check_timestamp(f, T0)
        assert err.value.reason == "timestamp_out_of_window"


def test_no_timestamp_passes_the_window() -> None:
    check_timestamp(parse_frame(cid(1, "1154 01 001")), T0)


def test_build_message_round_trip() -> None:
    raw = build_message("NULL", 0, "ABC123", receiver="12", line="3", extended=[("M", "0026B9E4268B")], timestamp=T0)
    f = parse_frame(raw)
    assert f == Dc09Frame(
        "NULL",
        False,
        "0000",
        "12",
        "3",
        "ABC123",
        "",
        (("M", "0026B9E4268B"),),
        T0,
        raw[9:-1].decode(),
    )
    with pytest.raises(ValueError):
        build_message("NULL", 10000, "1234")
