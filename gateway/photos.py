"""Photos attached to requests: size- and type-checked by their content (not by the name or
the declared type), stored under a fresh random name, served back only by that name."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

MAX_BYTES = 5 * 1024 * 1024
# magic bytes → extension
KINDS: tuple[tuple[bytes, str], ...] = ((b"\xff\xd8\xff", "jpg"), (b"\x89PNG\r\n\x1a\n", "png"))
_WEBP = (b"RIFF", b"WEBP")
MEDIA = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


class PhotoRejected(ValueError):
    pass


def kind_of(data: bytes) -> str:
    for magic, ext in KINDS:
        if data.startswith(magic):
            return ext
    if data[:4] == _WEBP[0] and data[8:12] == _WEBP[1]:
        return "webp"
    raise PhotoRejected("only JPEG, PNG or WebP photos are accepted")


def save(directory: str | Path, data: bytes) -> str:
    """Check and store a photo; answer its id (the file name)."""
    if not data:
        raise PhotoRejected("the photo is empty")
    if len(data) > MAX_BYTES:
        raise PhotoRejected(f"a photo is at most {MAX_BYTES // (1024 * 1024)} MB")
    ext = kind_of(data)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.{ext}"
    tmp = folder / f".{name}.part"
    tmp.write_bytes(data)
    os.replace(tmp, folder / name)  # whole or not at all
    return name


def path_of(directory: str | Path, photo_id: str) -> Path | None:
    """The stored file for an id, or None: ids are exactly what ``save`` made (no paths)."""
    stem, _, ext = photo_id.partition(".")
    if len(stem) != 32 or any(c not in "0123456789abcdef" for c in stem) or ext not in MEDIA:
        return None
    path = Path(directory) / photo_id
    return path if path.is_file() else None
