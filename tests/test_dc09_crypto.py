"""AES for DC-09: frames encrypted with a known key (by a third-party dialler from PyPI and in the
shape pysiaalarm's tests build), decrypted, answered encrypted; wrong and missing keys refused; key
files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from device_adapters.dc09 import build_message, decode_events, encode_frame, format_timestamp, parse_frame
from device_adapters.dc09_crypto import (
    KeyFileError,
    build_encrypted_ack,
    decrypt,
    decrypt_frame,
    encrypt,
    load_keys,
    parse_keys,
)
from device_adapters.events import DecodeError, EventKind

dc09_msg = pytest.importorskip("my_dc09_spt.msg.dc09_msg").dc09_msg
dc05_msg = pytest.importorskip("my_dc09_spt.msg.dc05_msg").dc05_msg
dc03_msg = pytest.importorskip("my_dc09_spt.msg.dc03_msg").dc03_msg

KEY_128 = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
KEY_256 = b"Shewu-test-key-32-characters-ok!"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.mark.parametrize("key", [KEY_128, KEY_256])
def test_third_party_dialler_frames_decrypt_and_decode(key: bytes) -> None:
    """my-dc09-spt (PyPI) encrypts with its own AES code: a random pad, '|', the payload, the time."""
    spt = dc09_msg("1234", key)
    cid_raw = spt.dc09block(7, "ADM-CID", dc05_msg.dc05event("1234", {"code": "162", "zone": "4"})).encode()
    frame = parse_frame(cid_raw)
    assert frame.encrypted and frame.line is None  # the dialler's default: no L field
    plain = decrypt_frame(frame, key)
    assert (plain.data, plain.encrypted, plain.decrypted) == ("#1234|1162 00 004", True, True)
    assert plain.timestamp is not None and abs(plain.timestamp - now()) < timedelta(seconds=5)
    [ev] = decode_events(plain, now())
    assert (ev.kind, ev.device_id, ev.data["encrypted"]) == (EventKind.CO, "dc09-1234-004", True)

    sia_raw = spt.dc09block(8, "SIA-DCS", dc03_msg.dc03event("1234", {"code": "PA", "zone": "2", "area": "1"})).encode()
    [panic] = decode_events(decrypt_frame(parse_frame(sia_raw), key), now())
    assert (panic.kind, panic.value, panic.device_id) == (EventKind.SOS, "panic", "dc09-1234-002")

    [poll] = decode_events(decrypt_frame(parse_frame(spt.dc09poll().encode()), key), now())
    assert poll.kind is EventKind.HEARTBEAT


def test_encrypted_ack_is_accepted_by_the_dialler_and_decrypts_to_the_time() -> None:
    spt = dc09_msg("1234", KEY_128)
    raw = spt.dc09block(9, "ADM-CID", dc05_msg.dc05event("1234", {"code": "100"})).encode()
    frame = decrypt_frame(parse_frame(raw), KEY_128)
    at = now()
    ack = build_encrypted_ack(frame, KEY_128, at)
    assert ack.startswith(b"\n") and b'"*ACK"0009#1234[' in ack
    answer, offset = spt.dc09answer(9, ack.decode("ascii"))  # the dialler's own check of our answer
    assert answer == "ACK" and offset is not None and abs(offset) < 5
    parsed = parse_frame(ack)
    plain = decrypt(KEY_128, bytes.fromhex(parsed.data))
    assert plain.endswith(f"|]{format_timestamp(at)}".encode()) and len(plain) % 16 == 0


def test_pysiaalarm_style_frame_with_an_ascii_key() -> None:
    """pysiaalarm's tests encrypt ``"0" * n + "|Nri1/RP000]_<time>"`` with the key typed as 16
    characters ("AAAAAAAAAAAAAAAA", used as bytes); pysiaalarm tests/test_utils.py."""
    key = b"AAAAAAAAAAAAAAAA"
    content = f"|Nri1/RP000]{format_timestamp(now())}"
    plain = "0" * (-len(content) % 16) + content
    message = f'"*SIA-DCS"7654L0#AAA[{encrypt(key, plain.encode()).hex().upper()}'
    frame = decrypt_frame(parse_frame(encode_frame(message)), key)
    [ev] = decode_events(frame, now())
    assert (ev.kind, ev.device_id, ev.data["area"]) == (EventKind.HEARTBEAT, "dc09-AAA", "1")


def test_wrong_key_is_refused() -> None:
    spt = dc09_msg("1234", KEY_128)
    frame = parse_frame(spt.dc09block(1, "ADM-CID", dc05_msg.dc05event("1234", {"code": "110"})).encode())
    with pytest.raises(DecodeError) as err:
        decrypt_frame(frame, bytes.fromhex("0F0E0D0C0B0A09080706050403020100"))
    assert err.value.reason == "wrong_key"


def test_cipher_text_not_in_whole_blocks() -> None:
    frame = parse_frame(encode_frame('"*ADM-CID"0001L0#1234[' + "AB" * 20))
    with pytest.raises(DecodeError) as err:
        decrypt_frame(frame, KEY_128)
    assert err.value.reason == "bad_cipher"


def test_an_unencrypted_frame_is_returned_as_it_is() -> None:
    frame = parse_frame(build_message("NULL", 1, "1234"))
    assert decrypt_frame(frame, KEY_128) is frame


def test_key_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"1234": {"key_hex": KEY_128.hex()}, "aaa": {"key": "AAAAAAAAAAAAAAAA"}}))
    assert load_keys(path) == {"1234": KEY_128, "AAA": b"AAAAAAAAAAAAAAAA"}
    for bad in (
        [],
        {"12": {"key": "AAAAAAAAAAAAAAAA"}},
        {"1234": {"key": "short"}},
        {"1234": {"key_hex": "00"}},
        {"1234": {"key_hex": "zz" * 16}},
        {"1234": {"key": "AAAAAAAAAAAAAAAA", "key_hex": KEY_128.hex()}},
        {"1234": "AAAAAAAAAAAAAAAA"},
    ):
        with pytest.raises(KeyFileError):
            parse_keys(bad)
    with pytest.raises(KeyFileError):
        load_keys(tmp_path / "missing.json")
