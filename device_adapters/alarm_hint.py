"""What an undecodable message looks like: an alarm, or not (DESIGN invariant 8, fail open).

A message that cannot be decoded is dead-lettered; but if it looks like an alarm (an SOS action, a
leak or smoke flag set, a native ``kind`` of an alarm), a person must still look at it, so ingest
opens a minimal order for it as well. This reads the raw bytes with patterns only (no JSON
parser, nothing that a poison payload can make fail), from data: which words mean which kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from device_adapters.events import EventKind
from device_adapters.native import EDGE_PREFIX, NATIVE_PREFIX, NATIVE_SUFFIX

SCAN_BYTES = 8192  # alarm words sit near the top of every format we know

@dataclass(frozen=True, slots=True)
class Hint:
    pattern: re.Pattern[bytes]
    kind: EventKind


def _hint(regex: bytes, kind: EventKind) -> Hint:
    return Hint(re.compile(regex), kind)


# First match wins: life-threatening kinds first. Keys are matched in lower case.
HINTS: tuple[Hint, ...] = (
    _hint(rb'"action"\s*:\s*"(emergency|sos|panic)', EventKind.SOS),
    _hint(rb'"kind"\s*:\s*"sos"', EventKind.SOS),
    _hint(rb'"(sos|panic|emergency)[a-z0-9_]*"\s*:\s*(true|1\b|"on")', EventKind.SOS),
    _hint(rb'"kind"\s*:\s*"fall"', EventKind.FALL),
    _hint(rb'"(fall|fall_down)[a-z0-9_]*"\s*:\s*(true|"fall)', EventKind.FALL),
    _hint(rb'"status"\s*:\s*"falling"', EventKind.FALL),
    _hint(rb'"kind"\s*:\s*"fire"', EventKind.FIRE),
    _hint(rb'"(smoke|fire)[a-z0-9_]*"\s*:\s*(true|1\b)', EventKind.FIRE),
    _hint(rb'"kind"\s*:\s*"gas"', EventKind.GAS),
    _hint(rb'"gas[a-z0-9_]*"\s*:\s*(true|1\b)', EventKind.GAS),
    _hint(rb'"kind"\s*:\s*"co"', EventKind.CO),
    _hint(rb'"carbon_monoxide[a-z0-9_]*"\s*:\s*(true|1\b)', EventKind.CO),
    _hint(rb'"kind"\s*:\s*"leak"', EventKind.LEAK),
    _hint(rb'"(water_leak|leak)[a-z0-9_]*"\s*:\s*(true|1\b)', EventKind.LEAK),
)


def alarm_kind(payload: bytes) -> EventKind | None:
    """The alarm an undecodable payload looks like, if any."""
    head = payload[:SCAN_BYTES].lower()
    for hint in HINTS:
        if hint.pattern.search(head):
            return hint.kind
    return None


def device_of_topic(topic: str, z2m_base: str = "zigbee2mqtt") -> str:
    """The device a topic names, as far as can be told without decoding (sanitised by the caller)."""
    if topic.startswith(EDGE_PREFIX) and topic.endswith(NATIVE_SUFFIX):
        return topic[len(EDGE_PREFIX):-len(NATIVE_SUFFIX)].partition("/")[2]
    if topic.startswith(NATIVE_PREFIX) and topic.endswith(NATIVE_SUFFIX):
        return topic[len(NATIVE_PREFIX):-len(NATIVE_SUFFIX)]
    prefix = z2m_base.rstrip("/") + "/"
    if topic.startswith(prefix):
        name = topic[len(prefix):]
        return name.removesuffix("/action")
    return topic.rsplit("/", 1)[-1] or topic
