"""The data block of a SIA DC-09 ``SIA-DCS`` message (SIA DC-03 / DC-04 event data), pure.

Shapes seen from real panels (each from a public report, see tests/test_dc09.py)::

    #AAA|Nri0/RP0000                 Ajax hub: area 0, automatic test
    #7303658550|NBA4                 burglary alarm, zone 4
    #3080|Nti19:44/id1/RP            Scantronic: time 19:44, user 1, automatic test
    #123456|Nri1CL0^VX FRONTE ^      closing by user 0, with a text, no '/' between blocks
    Nri1/WA000                       no account part at all
    #1234|NRR|Atest                  power up, with an ASCII text block

- an optional ``#<account>|`` (the ``#`` may be missing; the account may be empty);
- ``N`` (new event) or ``O`` (old event), then blocks separated by ``/`` (or not separated):
  lower-case two-letter modifiers with a value (``ri`` area, ``id`` user, ``ti`` time, ``pi`` ...),
  and events: an upper-case two-letter code, an optional number (zone or user, by the code) and an
  optional ``^text^``;
- optional ``|A<text>`` blocks.

One data block may carry several events (``Nri1/BA01/BA02``); each is returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from device_adapters.events import DecodeError

__all__ = ["SiaEvent", "SiaPayload", "parse_sia_dcs"]

_ACCOUNT = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_DIGITS = frozenset("0123456789")
_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True, slots=True)
class SiaEvent:
    """One event code of a SIA data block, with the modifiers in force where it stands."""

    code: str
    number: str  # the digits after the code (zone or user, by the code); "" when none
    area: str | None = None  # ``ri``
    user: str | None = None  # ``id``
    text: str | None = None  # ``^...^``


@dataclass(frozen=True, slots=True)
class SiaPayload:
    account: str | None
    events: tuple[SiaEvent, ...]
    old: bool = False  # ``O``: a historical event
    modifiers: dict[str, str] = field(default_factory=dict)
    texts: tuple[str, ...] = ()  # ``|A...`` blocks


def _split_account(data: str) -> tuple[str | None, list[str]]:
    parts = data.split("|")
    if len(parts) == 1:
        return None, parts
    head = parts[0].removeprefix("#")
    if head == "":
        return None, parts[1:]
    if len(head) > 16 or not _ACCOUNT.issuperset(head):
        raise DecodeError("bad_payload", f"SIA account {parts[0][:24]!r} must be #<3-16 hex digits>")
    return head, parts[1:]


def parse_sia_dcs(data: str) -> SiaPayload:
    """``#1234|Nri1/WA003`` → :class:`SiaPayload`. Reason ``bad_payload`` when it is not this shape
    or carries no event code."""
    account, parts = _split_account(data)
    if not parts or not parts[0]:
        raise DecodeError("bad_payload", f"SIA data {data[:40]!r} has no event block")
    body, extra = parts[0], parts[1:]
    texts = tuple(p[1:] for p in extra if p.startswith("A"))
    old = False
    if body[0] in "NO":
        old = body[0] == "O"
        body = body[1:]
    modifiers: dict[str, str] = {}
    events: list[SiaEvent] = []
    pos, n = 0, len(body)
    while pos < n:
        c = body[pos]
        if c == "/" or c == " ":
            pos += 1
            continue
        if c == "^":
            end = body.find("^", pos + 1)
            if end < 0:
                end = n
            if events:
                last = events[-1]
                events[-1] = SiaEvent(last.code, last.number, last.area, last.user, body[pos + 1 : end].strip())
            pos = end + 1
            continue
        two = body[pos : pos + 2]
        if len(two) == 2 and two[0] in _LOWER and two[1] in _LOWER:
            end = pos + 2
            while end < n and body[end] not in "/^" and body[end] not in _UPPER:
                end += 1
            modifiers[two] = body[pos + 2 : end]
            pos = end
            continue
        if len(two) == 2 and two[0] in _UPPER and two[1] in _UPPER:
            end = pos + 2
            while end < n and body[end] in _DIGITS:
                end += 1
            events.append(SiaEvent(two, body[pos + 2 : end], modifiers.get("ri"), modifiers.get("id")))
            pos = end
            continue
        raise DecodeError("bad_payload", f"SIA data {body[pos : pos + 20]!r} is neither a modifier nor a code")
    if not events:
        raise DecodeError("bad_payload", f"SIA data {data[:40]!r} carries no event code")
    return SiaPayload(account, tuple(events), old, modifiers, texts)
