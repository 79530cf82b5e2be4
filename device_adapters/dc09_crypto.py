"""AES for SIA DC-09 (``*SIA-DCS``, ``*ADM-CID``, ``*NULL``): the keys per account, decrypting a frame
and encrypting the answer. Pure apart from the random pad.

The encrypted part of a frame is hex after the ``[``: AES-CBC (128, 192 or 256-bit key, IV of zeros)
of ``<pad>|<data>]<x-data>_<timestamp>``, where the pad makes the length a multiple of 16 and holds no
``|``, ``[`` or ``]`` (real panels put non-ASCII bytes in it: Ajax, see Home Assistant core issue
#92442). An ACK to an encrypted message is encrypted the same way: ``"*ACK"<seq>...#<acct>[`` and hex of
``<pad>|]_<timestamp>``. NAK and DUH are never encrypted.

Keys are data: a JSON file (``shewu bridge dc09 --keys FILE``) mapping each account to its key, given
either as the characters typed into the panel (``"key"``: 16, 24 or 32 characters, used as they are,
the way pysiaalarm and Ajax hubs take them) or as hex (``"key_hex"``: 32, 48 or 64 hex digits)::

    {"1234": {"key_hex": "000102030405060708090A0B0C0D0E0F"}, "AAA": {"key": "AAAAAAAAAAAAAAAA"}}
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from device_adapters.dc09 import (
    Dc09Frame,
    answer_header,
    encode_frame,
    format_timestamp,
    parse_frame,
)
from device_adapters.events import DecodeError

__all__ = [
    "KeyFileError",
    "build_encrypted_ack",
    "decrypt",
    "decrypt_frame",
    "encrypt",
    "load_keys",
    "parse_key",
    "parse_keys",
    "random_pad",
]

KEY_LENGTHS = (16, 24, 32)
_IV = bytes(16)
_PAD_CHARS = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in "|[]")

Pad = Callable[[int], str]


class KeyFileError(ValueError):
    """A key file or entry that cannot be used."""


def random_pad(n: int) -> str:
    return "".join(secrets.choice(_PAD_CHARS) for _ in range(n))


def encrypt(key: bytes, plain: bytes) -> bytes:
    if len(plain) % 16:
        raise ValueError("AES-CBC input must be a multiple of 16 bytes")
    enc = Cipher(algorithms.AES(key), modes.CBC(_IV)).encryptor()
    return enc.update(plain) + enc.finalize()


def decrypt(key: bytes, cipher: bytes) -> bytes:
    dec = Cipher(algorithms.AES(key), modes.CBC(_IV)).decryptor()
    return dec.update(cipher) + dec.finalize()


def _printable(data: bytes) -> bool:
    return all(0x20 <= b <= 0x7E for b in data)


def decrypt_frame(frame: Dc09Frame, key: bytes) -> Dc09Frame:
    """The frame as if it had been sent in the clear (``encrypted`` stays True, ``message`` stays the
    cipher text so a repeat is recognised). Reasons: ``bad_cipher`` (not whole AES blocks),
    ``wrong_key`` (the plain text is not ``<pad>|<data>]...``: the key is wrong), and what
    :func:`~device_adapters.dc09.parse_frame` says about the data inside."""
    if not frame.encrypted:
        return frame
    cipher = bytes.fromhex(frame.data) if len(frame.data) % 2 == 0 else b""
    if not cipher or len(cipher) % 16:
        raise DecodeError("bad_cipher", f"{len(frame.data)} hex digits are not whole 16-byte AES blocks")
    plain = decrypt(key, cipher)
    bar = plain.find(b"|")
    rest = plain[bar + 1 :] if bar >= 0 else b""
    if bar < 0 or b"]" not in rest or not _printable(rest):
        raise DecodeError("wrong_key", f"account {frame.account}: the decrypted text is not <pad>|<data>]: wrong key?")
    message = f'"{frame.token}"{answer_header(frame)}[{rest.decode("ascii")}'
    inner = parse_frame(encode_frame(message))
    return replace(inner, encrypted=True, decrypted=True, message=frame.message, framing=frame.framing)


def build_encrypted_ack(frame: Dc09Frame, key: bytes, now: datetime, pad: Pad = random_pad) -> bytes:
    """``"*ACK"<seq>[R<rcvr>][L<pref>]#<acct>[<hex of AES(<pad>|]_<timestamp>)>``."""
    tail = f"|]{format_timestamp(now)}"
    plain = pad(-len(tail) % 16 or 16) + tail
    hex_text = encrypt(key, plain.encode("ascii")).hex().upper()
    return encode_frame(f'"*ACK"{answer_header(frame)}[{hex_text}', frame.framing)


def parse_key(entry: Any, account: str) -> bytes:
    """``{"key": "<16/24/32 characters>"}`` or ``{"key_hex": "<32/48/64 hex digits>"}`` → the key."""
    if not isinstance(entry, Mapping) or len(entry.keys() & {"key", "key_hex"}) != 1:
        raise KeyFileError(f"account {account}: give exactly one of key (characters) or key_hex")
    if "key_hex" in entry:
        text = entry["key_hex"]
        try:
            key = bytes.fromhex(text) if isinstance(text, str) else b""
        except ValueError:
            key = b""
        if len(key) not in KEY_LENGTHS:
            raise KeyFileError(f"account {account}: key_hex must be 32, 48 or 64 hex digits")
        return key
    text = entry["key"]
    if not isinstance(text, str) or not text.isascii() or len(text) not in KEY_LENGTHS:
        raise KeyFileError(f"account {account}: key must be 16, 24 or 32 ASCII characters")
    return text.encode("ascii")


def parse_keys(doc: Any) -> dict[str, bytes]:
    """The key file's JSON → ``{ACCOUNT: key}`` (accounts upper-cased, as frames are matched)."""
    if not isinstance(doc, Mapping):
        raise KeyFileError("the key file is a JSON object: {account: {key | key_hex}}")
    keys: dict[str, bytes] = {}
    for account, entry in doc.items():
        acct = str(account).upper()
        if not 3 <= len(acct) <= 16 or not acct.isalnum() or not acct.isascii():
            raise KeyFileError(f"account {account!r} must be 3-16 letters or digits")
        if acct in keys:
            raise KeyFileError(f"account {acct} listed twice")
        keys[acct] = parse_key(entry, acct)
    return keys


def load_keys(path: str | Path) -> dict[str, bytes]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"cannot read the key file {path}: {exc}") from None
    return parse_keys(doc)
