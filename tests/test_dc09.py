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
    STANDARD,
    Dc09Frame,
    Framing,
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
    frame_length,
    guess_framing,
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
    # HB: holdup bypass of zone 3, kept as telemetry of that zone
    [ev] = decode_events(f, T0)
    assert (ev.kind, ev.device_id, ev.data["code"], ev.data["event"]) == (
        EventKind.TELEMETRY, "dc09-080027E62A64-003", "HB", "holdup_bypass"
    )


def test_public_null_message_is_a_heartbeat_of_the_panel() -> None:
    f = parse_frame(PUBLIC_NULL)
    [ev] = decode_events(f, T0)
    assert (ev.device_id, ev.kind, ev.at) == (
        "dc09-00653210",
        EventKind.HEARTBEAT,
        datetime(2016, 5, 18, 9, 17, 32, tzinfo=UTC),
    )
    assert ev.event_id == "dc09:00653210:0001:20160518T091732"


@pytest.mark.parametrize(
    "frame, code, kind, device",
    [
        (PUBLIC_CID_628, "628", EventKind.TELEMETRY, "dc09-7099"),  # program mode exit
        (PUBLIC_CID_131, "131", EventKind.INTRUSION, "dc09-7099-003"),  # perimeter burglary, zone 3
    ],
)
def test_public_contact_id_frames(frame: bytes, code: str, kind: EventKind, device: str) -> None:
    f = parse_frame(frame)
    assert (f.token, f.account, f.receiver, f.line) == ("ADM-CID", "7099", None, "0")
    assert parse_contact_id(f.data).code == code
    [ev] = decode_events(f, T0)
    assert (ev.kind, ev.device_id, ev.data["code"]) == (kind, device, code)


def test_public_encrypted_frame_parses_and_must_be_decrypted_first() -> None:
    f = parse_frame(PUBLIC_ENCRYPTED)
    assert f.encrypted and f.token == "SIA-DCS" and f.account == "080027E62A64"
    with pytest.raises(DecodeError) as err:
        decode_events(f, T0)
    assert err.value.reason == "encrypted"


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
    "102": (EventKind.INACTIVITY, EventKind.ACTIVITY_RESUMED),
    **{str(c): (EventKind.FIRE, EventKind.FIRE_CLEARED) for c in range(110, 119)},
    "120": (EventKind.SOS, EventKind.TELEMETRY),
    "122": (EventKind.SOS, EventKind.TELEMETRY),
    "123": (EventKind.SOS, EventKind.TELEMETRY),
    "130": (EventKind.INTRUSION, EventKind.TELEMETRY),
    "140": (EventKind.ALARM, EventKind.TELEMETRY),
    "151": (EventKind.GAS, EventKind.GAS_CLEARED),
    "158": (EventKind.FIRE, EventKind.FIRE_CLEARED),
    "159": (EventKind.ALARM, EventKind.TELEMETRY),
    "162": (EventKind.CO, EventKind.CO_CLEARED),
    "200": (EventKind.TROUBLE, EventKind.TROUBLE_CLEARED),
    "300": (EventKind.TROUBLE, EventKind.TROUBLE_CLEARED),
    "373": (EventKind.TROUBLE, EventKind.TROUBLE_CLEARED),
    "641": (EventKind.INACTIVITY, EventKind.ACTIVITY_RESUMED),
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


def test_users_are_kept_apart_from_zones() -> None:
    """Duress (121) and openings/closings (4xx) carry a user number: the event is the panel's, and the
    number is a user, not a zone device."""
    [duress] = decode_events(parse_frame(cid(3, "1121 01 005")), T0)
    assert (duress.kind, duress.value, duress.device_id) == (EventKind.SOS, "duress", "dc09-1234")
    assert duress.data["user"] == "005" and "zone" not in duress.data
    [opening] = decode_events(parse_frame(cid(4, "1401 02 012")), T0)
    [closing] = decode_events(parse_frame(cid(5, "3401 02 012")), T0)
    assert (opening.kind, opening.value, closing.value) == (EventKind.ACTIVITY, "opening", "closing")
    assert opening.device_id == "dc09-1234" and opening.data["user"] == "012"


def test_every_code_of_the_issue_is_in_the_table() -> None:
    asked = {*map(str, range(100, 103)), *map(str, range(110, 119)), *map(str, range(120, 124)),
             *map(str, range(130, 140)), *map(str, range(140, 148)), "151", "154", "158", "162",
             "200", "301", "302", "384", "137", "383", "147", "381", "355", "401", "602"}
    assert asked <= set(CONTACT_ID_CODES)
    assert set(EXPECTED) <= set(CONTACT_ID_CODES)


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
def test_contact_id_payload_errors_fail_open(data: str, reason: str) -> None:
    """What cannot be classified is an unknown alarm of the panel, with its reason, never dropped."""
    f = parse_frame(build_message("ADM-CID", 1, "1234", data))
    [ev] = decode_events(f, T0)
    assert (ev.kind, ev.device_id, ev.reason) == (EventKind.UNKNOWN_ALARM, "dc09-1234", reason)
    assert ev.data["detail"]
    if reason == "unknown_event_code":
        assert ev.value == "999" and ev.data["number"] == "003"


def test_unknown_id_fails_open_but_answers_are_refused() -> None:
    [ev] = decode_events(parse_frame(build_message("ADM-XYZ", 1, "1234", "#1234|1110 01 001")), T0)
    assert (ev.kind, ev.reason) == (EventKind.UNKNOWN_ALARM, "unsupported_token")
    with pytest.raises(DecodeError) as err:
        decode_events(parse_frame(PUBLIC_ACK), T0)
    assert err.value.reason == "unsupported_token"


def test_contact_id_account_without_hash() -> None:
    ev = parse_contact_id("1234|1130 01 003")
    assert (ev.account, ev.code, ev.zone) == ("1234", "130", "003")
    [alarm] = decode_events(parse_frame(build_message("ADM-CID", 2, "1234", "1234|1162 01 002")), T0)
    assert (alarm.kind, alarm.device_id) == (EventKind.CO, "dc09-1234-002")


def test_contact_id_without_account_part() -> None:
    ev = parse_contact_id("3154 02 007")
    assert (ev.account, ev.qualifier, ev.code, ev.group, ev.zone) == (None, Qualifier.RESTORE, "154", "02", "007")


def test_code_table_is_data() -> None:
    table = build_table([*KNOWN_CODES, CidCode("750", "vendor_pendant", EventKind.SOS)])
    [ev] = decode_events(parse_frame(cid(1, "1750 01 001")), T0, table)
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


# --- more real frames, from public bug reports: SIA-DCS, liberal framing -------------------------
# Each CRC and length below was checked here against the frame as quoted.

# Ajax hub, automatic test. home-assistant/core issue #88474 (debug log),
# https://github.com/home-assistant/core/issues/88474
AJAX_RP = b'\nB40B0039"SIA-DCS"0004L0#AAA[#AAA|Nri0/RP0000]_09:10:30,02-20-2023\r'
# node-red-contrib-sia-ultimate issue #2 (the bytes as logged),
# https://github.com/Supergiovane/node-red-contrib-sia-ultimate/issues/2
NODE_RED_RP = b'\n70C4003B"SIA-DCS"1707L0#0000[#0000|Nri0/RP0000]_13:36:41,12-22-2021\r'
# A Chinese alarm host: burglary zone 4, and its link test, both with an "L" field without digits, the
# NULL followed by a stray 0x00. schmupu/ioBroker.sia issue #11, https://github.com/schmupu/ioBroker.sia/issues/11
CHINESE_HOST_BA = b'\nCEF0003F"SIA-DCS"0001L#7303658550[#7303658550|NBA4]_11:52:09,05-07-2019\r'
CHINESE_HOST_NULL = b'\nBB86002C"NULL"0001L#7303658550[]_15:39:38,06-07-2019\r'
# Scantronic (Eaton) "SIA 3": time and user modifiers, no zone. pysiaalarm issue #8,
# https://github.com/eavanvalkenburg/pysiaalarm/issues/8
SCANTRONIC_RP = b'\n1908002B"SIA-DCS"0000L0#3080[#3080|Nti19:44/id1/RP]\r'
# Sigma S PRO link test. pysiaalarm issue #72, https://github.com/eavanvalkenburg/pysiaalarm/issues/72
SIGMA_NULL = b'\nD3440015"NULL"0000L0#008312[]\r'
# Eldes panels: the CRC covers the closing CR too (pysiaalarm logged "CRC mismatch" for each).
# pysiaalarm issue #17, https://github.com/eavanvalkenburg/pysiaalarm/issues/17 (closing by user 57)
# and issue #28, https://github.com/eavanvalkenburg/pysiaalarm/issues/28 (412: remote access).
ELDES_CLOSING = b'\nAA1A002F"ADM-CID"0227R4F39L4F39#4F39[#4F39|3401 01 057]\r'
ELDES_ACCESS = b'\nBCD30027"ADM-CID"1533L0#4F39[#4F39|1412 00 000]\r'
# Ajax hub, encrypted automatic test (key not published). home-assistant/core issue #92442,
# https://github.com/home-assistant/core/issues/92442
AJAX_ENCRYPTED = (
    b'\n3EF40075"*SIA-DCS"0472L0#AAA[E8408AE7624EDA041280B4F5DA60460FE78770C07B02B7D6E6189A411F7A6500A6E4AE4573'
    b"627CA46DB7B523A18ADBFC\r"
)


@pytest.mark.parametrize("frame", [AJAX_RP, NODE_RED_RP, SCANTRONIC_RP])
def test_public_sia_automatic_tests_are_heartbeats_of_the_panel(frame: bytes) -> None:
    f = parse_frame(frame)
    [ev] = decode_events(f, T0)
    assert ev.kind is EventKind.HEARTBEAT and ev.device_id == f"dc09-{f.account_key}"
    assert ev.data["code"] == "RP" and ev.data["event"] == "automatic_test"
    assert build_ack(f) == encode_frame(f'"ACK"{f.seq}L0#{f.account}[]')


def test_public_sia_modifiers_keep_area_and_user() -> None:
    [ajax] = decode_events(parse_frame(AJAX_RP), T0)
    assert (ajax.data["area"], ajax.data["zone"], ajax.device_id) == ("0", "000", "dc09-AAA")  # zone 0: the panel
    [scantronic] = decode_events(parse_frame(SCANTRONIC_RP), T0)
    assert scantronic.data["user"] == "1"


def test_public_frames_with_an_empty_line_field() -> None:
    ba = parse_frame(CHINESE_HOST_BA)
    assert (ba.line, ba.account, ba.framing) == ("", "7303658550", STANDARD)
    [ev] = decode_events(ba, T0)
    assert (ev.kind, ev.device_id, ev.value) == (EventKind.INTRUSION, "dc09-7303658550-004", "burglary")
    assert build_ack(ba) == encode_frame('"ACK"0001L#7303658550[]')  # echoed as the panel sent it
    null = parse_frame(CHINESE_HOST_NULL)
    assert decode_events(null, T0)[0].kind is EventKind.HEARTBEAT
    assert decode_events(parse_frame(SIGMA_NULL), T0)[0].device_id == "dc09-008312"


def test_public_eldes_frames_whose_crc_covers_the_cr() -> None:
    closing = parse_frame(ELDES_CLOSING)
    assert closing.framing == Framing(crc_covers_cr=True)
    [ev] = decode_events(closing, T0)
    assert (ev.kind, ev.value, ev.device_id, ev.data["user"]) == (EventKind.ACTIVITY, "closing", "dc09-4F39", "057")
    ack = build_ack(closing)  # answered in the panel's own CRC dialect
    assert ack[1:5] == b"%04X" % crc16_arc(b'"ACK"0227R4F39L4F39#4F39[]\r')
    assert parse_frame(ack).framing == Framing(crc_covers_cr=True)
    assert decode_events(parse_frame(ELDES_ACCESS), T0)[0].kind is EventKind.TELEMETRY


def test_public_encrypted_ajax_frame_parses() -> None:
    f = parse_frame(AJAX_ENCRYPTED)
    assert (f.encrypted, f.token, f.account, f.seq) == (True, "SIA-DCS", "AAA", "0472")
    assert len(f.data) == 96


def test_binary_crc_is_read_and_answered_in_kind() -> None:
    """Lupusec and OPAX panels send the CRC as two binary bytes (ioBroker.sia's receiver detects and
    answers them so: src/lib/sia.ts, https://github.com/schmupu/ioBroker.sia). The message is the
    Chinese host's real burglary frame; only the CRC field is binary."""
    message = CHINESE_HOST_BA[9:-1]
    crc = crc16_arc(message)
    frame = b"\n" + crc.to_bytes(2, "big") + CHINESE_HOST_BA[5:9] + message + b"\r"
    f = parse_frame(frame)
    assert f.framing == Framing(binary_crc=True) and f.account == "7303658550"
    assert guess_framing(frame) == Framing(binary_crc=True)
    ack = build_ack(f)
    assert ack[1:3] == crc16_arc(b'"ACK"0001L#7303658550[]').to_bytes(2, "big")
    assert parse_frame(ack).token == "ACK"
    assert build_nak(T0, f.framing)[3:7] == b"0025"
    assert frame_length(frame + b"junk") == len(frame)


def test_binary_crc_that_is_cr_or_lf() -> None:
    """A binary CRC byte may be 0x0A or 0x0D: framing goes by the length field."""
    for seq in range(1, 400):
        frame = build_message("ADM-CID", seq, "1234", "#1234|1110 01 001", framing=Framing(binary_crc=True))
        if b"\r" in frame[1:3] or b"\n" in frame[1:3]:
            break
    else:
        pytest.fail("no frame with a CR or LF in its CRC")
    assert frame_length(frame) == len(frame)
    assert decode_events(parse_frame(frame), T0)[0].kind is EventKind.FIRE


def test_missing_line_field_as_the_pypi_dialler_sends_it() -> None:
    """dc09_spt (and its fork my-dc09-spt) leave the L field out unless one is configured."""
    frame = build_message("ADM-CID", 3, "1234", "#1234|1100 00 001", line=None)
    assert b"L" not in frame[9:24]
    f = parse_frame(frame)
    assert f.line is None
    assert build_ack(f) == encode_frame('"ACK"0003#1234[]')
    assert decode_events(f, T0)[0].kind is EventKind.SOS


def test_several_sia_events_in_one_block_and_zones_normalised() -> None:
    f = parse_frame(build_message("SIA-DCS", 8, "1234", "#1234|Nri1/WA3/FA12/ZZ9"))
    leak, fire, unknown = decode_events(f, T0)
    assert (leak.kind, leak.device_id) == (EventKind.LEAK, "dc09-1234-003")
    assert (fire.kind, fire.device_id, fire.value) == (EventKind.FIRE, "dc09-1234-012", "fire")
    assert (unknown.kind, unknown.value, unknown.reason) == (EventKind.UNKNOWN_ALARM, "ZZ", "unknown_event_code")
    assert len({leak.event_id, fire.event_id, unknown.event_id}) == 3


@pytest.mark.parametrize(
    "data, kind, value",
    [
        ("#1234|Nri1/MA001", EventKind.SOS, "medical"),
        ("#1234|Nri1/PA001", EventKind.SOS, "panic"),
        ("#1234|Nri1/HA001", EventKind.SOS, "holdup"),
        ("#1234|Nri1/FA001", EventKind.FIRE, "fire"),
        ("#1234|Nri1/KA001", EventKind.FIRE, "heat"),
        ("#1234|Nri1/KR001", EventKind.FIRE_CLEARED, None),
        ("#1234|Nri1/GA001", EventKind.GAS, "gas"),
        ("#1234|Nri1/WA001", EventKind.LEAK, None),
        ("#1234|Nri1/WH001", EventKind.LEAK_CLEARED, None),
        ("#1234|Nri1/BA001", EventKind.INTRUSION, "burglary"),
        ("#1234|Nri1/TA001", EventKind.TAMPER, None),
        ("#1234|Nri1/YT000", EventKind.BATTERY_LOW, None),
        ("#1234|Nri1/YR000", EventKind.BATTERY_OK, None),
        ("#1234|Nri1/AT000", EventKind.POWER_LOST, None),
        ("#1234|Nri1/AR000", EventKind.POWER_RESTORED, None),
        ("#1234|Nri1/RP000", EventKind.HEARTBEAT, None),
        ("#1234|Nri1/NA000", EventKind.INACTIVITY, "no_activity"),
        ("#1234|Nri1/OP003", EventKind.ACTIVITY, "opening"),
    ],
)
def test_sia_codes(data: str, kind: EventKind, value: object) -> None:
    [ev] = decode_events(parse_frame(build_message("SIA-DCS", 1, "1234", data)), T0)
    assert (ev.kind, ev.value) == (kind, value)
    if ev.data["code"] == "OP":
        assert ev.data["user"] == "003" and ev.device_id == "dc09-1234"


def test_sia_payload_without_account_and_with_text() -> None:
    # pysiaalarm's test cases (tests/test_sia_package_cases.py) quote these two payload shapes
    [wa] = decode_events(parse_frame(build_message("SIA-DCS", 1, "AAA", "Nri1/WA000")), T0)
    assert (wa.kind, wa.device_id) == (EventKind.LEAK, "dc09-AAA")
    [kr] = decode_events(parse_frame(build_message("SIA-DCS", 2, "123456", "#123456|Nri0KR1^TAST. 001 ^")), T0)
    assert (kr.kind, kr.data["zone"], kr.data["text"]) == (EventKind.FIRE_CLEARED, "001", "TAST. 001")
    [bad] = decode_events(parse_frame(build_message("SIA-DCS", 3, "1234", "#1234|N12")), T0)
    assert (bad.kind, bad.reason) == (EventKind.UNKNOWN_ALARM, "bad_payload")
