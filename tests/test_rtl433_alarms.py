"""433 MHz alarm devices bound per device (issue 9): rtl_433's real output through the decoder.

Frames: ``tests/data/rtl433/frames.json`` (bit rows of public captures in merbanan/rtl_433_tests, run
through Debian's ``rtl_433 -y``). JSON lines: quoted from rtl_433_tests' expected outputs, cited
where they are used.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from device_adapters.decoder import MessageDecoder
from device_adapters.events import DeviceEvent, EventKind
from device_adapters.rtl433 import Rtl433Decoder

T0 = datetime(2026, 11, 28, 4, 30, tzinfo=UTC)
TOPIC = "rtl_433/pi-433/events"
DATA = json.loads((Path(__file__).parent / "data" / "rtl433" / "frames.json").read_text())
FRAMES = {f["name"]: f for f in DATA["frames"]}

needs_rtl_433 = pytest.mark.skipif(
    shutil.which("rtl_433") is None, reason="rtl_433 not installed (scripts/setup --test installs it)"
)


def rtl_433(name: str) -> dict[str, Any]:
    """What Debian's rtl_433 prints for one frame of frames.json."""
    frame = FRAMES[name]
    out = subprocess.run(
        ["rtl_433", "-R", str(frame["protocol"]), "-F", "json", "-y", frame["code"]],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(lines) == 1, out
    reading: dict[str, Any] = lines[0]
    assert {k: reading.get(k) for k in frame["expect"]} == frame["expect"]  # the capture's own output
    return reading


def decoder(kinds: dict[str, str] | None = None, models: dict[str, str] | None = None) -> Rtl433Decoder:
    return Rtl433Decoder(kind_lookup=(kinds or {}).get, model_lookup=(models or {}).get)


def feed(dec: Rtl433Decoder, reading: dict[str, Any], at: datetime = T0) -> list[DeviceEvent]:
    return dec.decode(TOPIC, json.dumps(reading).encode(), at)


def summary(events: list[DeviceEvent]) -> list[tuple[str, EventKind, Any]]:
    return [(e.device_id, e.kind, e.value) for e in events]


# --- fixed-code remotes (EV1527 / SC2260): the registry binds the remote or one button ----------


@needs_rtl_433
def test_sos_button_of_a_fixed_code_remote_bound_alone() -> None:
    dec = decoder({"rtl433/Generic-Remote/5069/cmd=48": "sos"})
    sos = rtl_433("sc2260_sos_button")
    arm = rtl_433("sc2260_arm_button")
    assert summary(feed(dec, sos)) == [("rtl433/Generic-Remote/5069/cmd=48", EventKind.SOS, "sos")]
    # The remote's other buttons (arm) are not alarms: heard, nothing more.
    assert summary(feed(dec, arm, T0 + timedelta(seconds=5))) == [
        ("rtl433/Generic-Remote/5069", EventKind.TELEMETRY, None)
    ]


@needs_rtl_433
def test_a_whole_remote_bound_as_an_sos_pendant_pages_on_any_button() -> None:
    dec = decoder({"rtl433/Generic-Remote/5069": "sos"})
    assert summary(feed(dec, rtl_433("sc2260_arm_button"))) == [
        ("rtl433/Generic-Remote/5069", EventKind.SOS, "sos")
    ]
    # The remote repeats its frame: copies within 2 s are one press; a press later is another SOS.
    assert feed(dec, rtl_433("sc2260_arm_button"), T0 + timedelta(seconds=1)) == []
    assert [e.kind for e in feed(dec, rtl_433("sc2260_arm_button"), T0 + timedelta(seconds=30))] == [EventKind.SOS]


@needs_rtl_433
def test_an_unregistered_fixed_code_frame_pages_nobody() -> None:
    """An SDR hears every neighbour's remote, and one x1527 frame decodes as several models."""
    dec = decoder()
    for name in ("sc2260_sos_button", "chuango_24h_zone"):
        assert [e.kind for e in feed(dec, rtl_433(name))] == [EventKind.TELEMETRY]


@needs_rtl_433
@pytest.mark.parametrize(
    ("kind", "event", "value"),
    [
        ("smoke", EventKind.FIRE, "smoke"),
        ("leak", EventKind.LEAK, "leak"),
        ("sos", EventKind.SOS, "sos"),
        ("gas", EventKind.GAS, "gas"),
    ],
)
def test_chuango_24h_zone_by_registry_kind(kind: str, event: EventKind, value: str) -> None:
    """Chuango's SMK-500 smoke and WI-200 water sensors both send '24H Zone'."""
    dec = decoder({"rtl433/Chuango-Security/587418": kind})
    assert summary(feed(dec, rtl_433("chuango_24h_zone"))) == [("rtl433/Chuango-Security/587418", event, value)]


@needs_rtl_433
def test_chuango_24h_zone_of_a_device_without_a_kind_is_an_unknown_alarm() -> None:
    dec = decoder(models={"rtl433/Chuango-Security/587418": "Chuango-Security"})
    events = feed(dec, rtl_433("chuango_24h_zone"))
    assert summary(events) == [("rtl433/Chuango-Security/587418", EventKind.UNKNOWN_ALARM, "24H Zone")]


@needs_rtl_433
def test_chuango_door_sensor_is_activity() -> None:
    dec = decoder({"rtl433/Chuango-Security/962172": "door"})
    assert summary(feed(dec, rtl_433("chuango_normal_zone"))) == [
        ("rtl433/Chuango-Security/962172", EventKind.ACTIVITY, "door_open")
    ]


def test_unknown_code_from_a_registered_alarm_device_is_an_unknown_alarm() -> None:
    """Chuango prints "?" for its codes 9, 14, 15 (chuango.c)."""
    dec = decoder({"rtl433/Chuango-Security/587418": "smoke"})
    events = feed(dec, {"model": "Chuango-Security", "id": 587418, "cmd": "?", "cmd_id": 14})
    assert [(e.kind, e.value) for e in events] == [(EventKind.UNKNOWN_ALARM, "?")]
    assert "not known for a smoke device" in events[0].raw["reason"]
    # Its harmless codes are not.
    assert [e.kind for e in feed(dec, {"model": "Chuango-Security", "id": 587418, "cmd": "Arm", "cmd_id": 8})] == [
        EventKind.TELEMETRY
    ]


def test_x10_unknown_event_from_a_registered_sos_device() -> None:
    """x10_sec.c prints event "UNKNOWN" for a code it has no name for."""
    dec = decoder({"rtl433/X10-Security/3e41": "sos"})
    reading = {"model": "X10-Security", "id": "3e41", "code": "2a", "event": "UNKNOWN", "mic": "CRC"}
    assert [(e.kind, e.value) for e in feed(dec, reading)] == [(EventKind.UNKNOWN_ALARM, "UNKNOWN")]
    panic = {"model": "X10-Security", "id": "3e41", "code": "26", "event": "KR18 PANIC", "mic": "CRC"}
    assert [(e.kind, e.value) for e in feed(dec, panic, T0 + timedelta(seconds=10))] == [(EventKind.SOS, "panic")]


# --- rtl_433's own lines -----------------------------------------------------------------------


def test_stats_line_is_ignored_quietly() -> None:
    dec = MessageDecoder(rtl433_base="rtl_433")
    assert dec.decode(TOPIC, DATA["stats_line"].encode(), T0) == []


# --- self-describing models, JSON lines from rtl_433_tests' expected outputs --------------------

# rtl_433_tests tests/interlogix/05/smoke_detected_319.5M_250k.json and status_report_319.5M_250k.json
# (ESL TX-6010-01-1 smoke alarm), first line of each.
INTERLOGIX_SMOKE = (
    '{"time" : "@0.133476s", "model" : "Interlogix-Security", "subtype" : "smoke", "id" : "29cd45", '
    '"battery_ok" : 1, "switch1" : "OPEN", "switch2" : "OPEN", "switch3" : "OPEN", "switch4" : "CLOSED", '
    '"switch5" : "CLOSED", "raw_message" : "a740a8"}'
)
INTERLOGIX_STATUS = (
    '{"time" : "@0.283228s", "model" : "Interlogix-Security", "subtype" : "smoke", "id" : "29cd45", '
    '"battery_ok" : 1, "switch1" : "OPEN", "switch2" : "CLOSED", "switch3" : "CLOSED", "switch4" : "CLOSED", '
    '"switch5" : "CLOSED", "raw_message" : "c401bc"}'
)


def test_interlogix_smoke_is_a_fire_and_its_status_report_clears_it() -> None:
    dec = decoder()
    fire = dec.decode(TOPIC, INTERLOGIX_SMOKE.encode(), T0)
    assert summary(fire) == [("rtl433/Interlogix-Security/29cd45", EventKind.FIRE, "smoke")]
    clear = dec.decode(TOPIC, INTERLOGIX_STATUS.encode(), T0 + timedelta(minutes=5))
    assert [e.kind for e in clear] == [EventKind.FIRE_CLEARED]


def test_interlogix_status_report_alone_is_no_alarm() -> None:
    assert [e.kind for e in decoder().decode(TOPIC, INTERLOGIX_STATUS.encode(), T0)] == [EventKind.TELEMETRY]


# rtl_433_tests tests/simplisafe/keychain-1M38R-panic.json: the keychain's panic press is state 1
# ("Contact Open"); keypad-1JZAG-panic.json: "Keypad Panic Button". These files predate rtl_433's
# renaming (model "SimpliSafe Sensor", "device"): below as rtl_433 prints them now (simplisafe.c:
# model "SimpliSafe-Sensor" / "SimpliSafe-Keypad", "id").
SIMPLISAFE_KEYCHAIN_PANIC = {
    "model": "SimpliSafe-Sensor", "id": "1M38R", "seq": 98, "state": 1, "extradata": "Contact Open"
}
SIMPLISAFE_KEYPAD_PANIC = {"model": "SimpliSafe-Keypad", "id": "1JZAG", "seq": 34, "extradata": "Keypad Panic Button"}


def test_simplisafe_panic_keys() -> None:
    bound = decoder({"rtl433/SimpliSafe-Sensor/1M38R": "sos"})
    assert [(e.kind, e.value) for e in feed(bound, SIMPLISAFE_KEYCHAIN_PANIC)] == [(EventKind.SOS, "sos")]
    # The same press from a keychain the registry does not know looks like an entry sensor opening.
    assert [e.kind for e in feed(decoder(), SIMPLISAFE_KEYCHAIN_PANIC)] == [EventKind.ACTIVITY]
    assert [(e.kind, e.value) for e in feed(decoder(), SIMPLISAFE_KEYPAD_PANIC)] == [(EventKind.SOS, "panic")]


# rtl_433_tests tests/cavius/g001_869.67M_250k.json (a pairing message).
CAVIUS_PAIRING = (
    '{"time" : "@0.563656s", "id" : 270303, "net_id" : 270303, "message" : 128, "text" : "Pairing", '
    '"battery_ok" : 1, "mic" : "CRC", "model" : "Cavius-Security"}'
)


def test_cavius() -> None:
    dec = decoder({"rtl433/Cavius-Security/270303": "smoke"})
    assert [e.kind for e in dec.decode(TOPIC, CAVIUS_PAIRING.encode(), T0)] == [EventKind.TELEMETRY]
    # The same unit's alarm: cavius.c prints message 32 with text "Fire alarm".
    fire = json.loads(CAVIUS_PAIRING) | {"message": 32, "text": "Fire alarm"}
    assert [(e.kind, e.value) for e in feed(dec, fire, T0 + timedelta(seconds=10))] == [(EventKind.FIRE, "smoke")]
    # "Warning/Water detected" (message 16): a leak on a water detector, a person looks otherwise.
    water = json.loads(CAVIUS_PAIRING) | {"message": 16, "text": "Warning/Water detected"}
    leak = decoder({"rtl433/Cavius-Security/270303": "leak"})
    assert [e.kind for e in feed(leak, water)] == [EventKind.LEAK]
    assert [e.kind for e in feed(decoder(), water)] == [EventKind.UNKNOWN_ALARM]


# Bresser water leakage sensor PN 7009975: bresser_leakage.c's example rows "[CH1+NSTARTUP+ALARM]"
# (A6 FB 80 02 52 88 59 B0 ...) and "[CH1+NSTARTUP]" (... 59 70), as its data_make prints them (the
# 32-bit id is printed as a signed int).
BRESSER_WET = {"model": "Bresser-Leakage", "id": -2147331448, "channel": 1, "battery_ok": 1, "alarm": 1}
BRESSER_DRY = {"model": "Bresser-Leakage", "id": -2147331448, "channel": 1, "battery_ok": 1, "alarm": 0}


def test_bresser_leakage() -> None:
    dec = decoder()
    assert summary(feed(dec, BRESSER_WET)) == [("rtl433/Bresser-Leakage/1/-2147331448", EventKind.LEAK, "leak")]
    assert [e.kind for e in feed(dec, BRESSER_DRY, T0 + timedelta(minutes=1))] == [EventKind.LEAK_CLEARED]


# Fine Offset / Ecowitt WH55: fineoffset_wh55.c's example "55 30 cf 55 04 02 89 be ..." (channel 4,
# id cf55, 4 bars, alarm bit 0), as its data_make prints it.
WH55_DRY = {
    "model": "Fineoffset-WH55", "id": 53077, "channel": 4, "battery_ok": 0.8, "raw_value": 649,
    "sensitivity": 1, "alarm": 0, "mic": "CRC",
}


def test_fineoffset_wh55() -> None:
    dec = decoder()
    assert [e.kind for e in feed(dec, WH55_DRY)] == [EventKind.LEAK_CLEARED]  # first dry report seen
    wet = WH55_DRY | {"alarm": 1}  # the alarm bit set (b[7] bit 6)
    assert summary(feed(dec, wet, T0 + timedelta(minutes=1))) == [
        ("rtl433/Fineoffset-WH55/4/53077", EventKind.LEAK, "leak")
    ]


def test_role_sos_reads_more_than_alarm() -> None:
    """A registry model ``rtl433-sos`` on a device of a model the table does not know."""
    dec = decoder(models={"rtl433/Some-Pendant/77": "rtl433-sos"})
    assert [e.kind for e in feed(dec, {"model": "Some-Pendant", "id": 77, "button": 1})] == [EventKind.SOS]
    assert [e.kind for e in feed(dec, {"model": "Some-Pendant", "id": 77, "cmd": 3}, T0 + timedelta(seconds=9))] == [
        EventKind.SOS
    ]
