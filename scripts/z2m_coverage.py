#!/usr/bin/env python3
"""Which Zigbee2MQTT SOS, fall, leak, smoke, gas and CO devices does the model table not decode?

Installs zigbee-herdsman-converters (Zigbee2MQTT's device library) from npm into a cache folder,
reads the exposes of every device definition (scripts/z2m_exposes.cjs, run by node) and checks each
alarm property a device exposes against the profile the decoder would use for it: its own row of
``device_adapters.zigbee2mqtt_models`` (by model or alias), else the generic profile.

    scripts/z2m_coverage.py [--version 26.112.0] [--cache .cache/z2m-coverage] [--json] [--strict]

Needs node and npm (Debian: apt-get install nodejs npm). ``--strict`` exits 1 when a device is
not covered. A developer tool: nothing here runs in the gateway.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from device_adapters.events import EventKind  # noqa: E402
from device_adapters.zigbee2mqtt_models import GENERIC, MODELS, ModelProfile, looks_like_alarm_key  # noqa: E402

PACKAGE = "zigbee-herdsman-converters"
CLASS_EVENTS: dict[str, EventKind] = {
    "sos": EventKind.SOS,
    "fall": EventKind.FALL,
    "leak": EventKind.LEAK,
    "smoke": EventKind.FIRE,
    "gas": EventKind.GAS,
    "co": EventKind.CO,
}


@dataclass(frozen=True, slots=True)
class Signal:
    """A device exposing ``field`` (a name, or a regular expression when ``pattern``) with one of
    ``alarm`` among its values is an alarm device of class ``cls``. For a binary expose the alarm
    value is its ``value_on``, whatever ``alarm`` says."""

    cls: str
    field: str
    alarm: tuple[Any, ...] = (True,)
    pattern: bool = False

    def matches(self, name: str) -> bool:
        return re.fullmatch(self.field, name) is not None if self.pattern else name == self.field


SIGNALS: tuple[Signal, ...] = (
    Signal("sos", "action", ("emergency", "sos", "panic")),
    Signal("sos", "sos"),
    Signal("sos", "sos_alarm"),
    Signal("fall", "fall_down_status", ("fall",)),
    Signal("fall", "fall_status", ("fall_alarm",)),
    Signal("fall", "status", ("falling",)),
    Signal("fall", "fall"),
    Signal("leak", "water_leak"),
    Signal("leak", r"water_leak_(alarm|zone|wire)_\d+", pattern=True),
    Signal("leak", "water_leak_both_zones"),
    Signal("leak", "active_water_leak"),
    Signal("leak", "water_leakage_state", ("water_leakage_yes",)),
    Signal("leak", "water_warning", ("alarm",)),
    Signal("leak", r"(input|channel)_\d+_leak_detect_\d+", pattern=True),
    Signal("smoke", "smoke"),
    Signal("smoke", r"smoke_alarm_\d", pattern=True),
    Signal("smoke", "smoke_state", ("alarm",)),
    Signal("gas", "gas"),
    Signal("gas", r"gas_alarm_\d", pattern=True),
    Signal("gas", "gas_sensor_state", ("alarm",)),
    Signal("co", "carbon_monoxide"),
    Signal("co", r"carbon_monoxide_alarm_\d", pattern=True),
    Signal("co", "co_state", ("alarm",)),
)
"""What makes a device an alarm device. ``action`` ``fall`` is left out on purpose: it is an object
falling (Aqara cube MFKZQ01LM, P100 DWZTCGQ11LM), not a person."""

SETTABLE = 2  # expose access bit: Zigbee2MQTT can set it (a setting, not a reading)


def install(version: str, cache: Path) -> Path:
    """npm-install the package into ``cache``; returns its node_modules."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        sys.exit("node and npm are needed (Debian: apt-get install nodejs npm)")
    cache.mkdir(parents=True, exist_ok=True)
    if not (cache / "package.json").exists():
        (cache / "package.json").write_text('{"name": "z2m-coverage", "private": true}\n')
    spec = f"{PACKAGE}@{version}"
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--silent", spec],
        cwd=cache,
        check=True,
    )
    return cache / "node_modules"


def definitions(node_modules: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        ["node", str(ROOT / "scripts" / "z2m_exposes.cjs"), str(node_modules)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def profile_of(definition: dict[str, Any]) -> tuple[ModelProfile, str]:
    for name in (definition.get("model"), *definition.get("aliases", [])):
        if isinstance(name, str) and name in MODELS:
            return MODELS[name], "model"
    return GENERIC, "generic"


def alarm_values(signal: Signal, etype: str, values: list[Any]) -> set[Any]:
    if etype == "binary":
        return {values[0]} if values else set(signal.alarm)  # value_on
    return {v for v in values if v in signal.alarm}  # an enum; a free text ("status" of a switch) is none


def reads(profile: ModelProfile, field: str, event: EventKind, wanted: Iterable[Any]) -> bool:
    """True when a rule of ``profile`` turns ``field`` holding any of ``wanted`` into ``event``."""
    for rule in profile.rules:
        if rule.field == field and rule.kind is event and any(rule.matches(v) for v in wanted):
            return True
    return False


def check(defs: list[dict[str, Any]]) -> dict[str, Any]:
    by_class: dict[str, list[dict[str, Any]]] = defaultdict(list)
    settings_missing: set[str] = set()
    unclassified: dict[str, set[str]] = defaultdict(set)
    for d in defs:
        exposes = d.get("exposes") or []
        profile, source = profile_of(d)
        found: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for name, etype, values, *rest in exposes:
            access = rest[0] if rest else 0
            signal = next((s for s in SIGNALS if s.matches(name)), None)
            if signal is not None:
                wanted = alarm_values(signal, etype, values)
                if not wanted:
                    continue  # e.g. an action list without emergency/sos/panic, a numeric "gas"
                event = CLASS_EVENTS[signal.cls]
                found[signal.cls].append(
                    {"field": name, "values": sorted(map(str, wanted)), "read": reads(profile, name, event, wanted)}
                )
            elif looks_like_alarm_key(name):
                if access & SETTABLE and etype == "binary":
                    settings_missing.add(name)
                elif etype == "binary":
                    unclassified[name].add(str(d.get("model")))
        for cls, fields in found.items():
            by_class[cls].append(
                {
                    "model": d.get("model"),
                    "vendor": d.get("vendor"),
                    "description": d.get("description"),
                    "profile": source,
                    "fields": fields,
                    "covered": all(f["read"] for f in fields),
                }
            )
    summary = {c: {"devices": len(rows), "covered": sum(r["covered"] for r in rows)} for c, rows in by_class.items()}
    summary = dict(sorted(summary.items()))
    total = sum(v["devices"] for v in summary.values())
    covered = sum(v["covered"] for v in summary.values())
    return {
        "definitions": len(defs),
        "summary": summary,
        "total": total,
        "covered": covered,
        "uncovered": [r | {"class": cls} for cls, rows in sorted(by_class.items()) for r in rows if not r["covered"]],
        "settings_named_like_alarms": sorted(settings_missing),
        "alarm_like_properties_not_classified": {k: sorted(v) for k, v in sorted(unclassified.items())},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--version", default="latest", help="zigbee-herdsman-converters version (default: latest)")
    ap.add_argument("--cache", type=Path, default=ROOT / ".cache" / "z2m-coverage")
    ap.add_argument("--json", action="store_true", help="print the whole report as JSON")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a device is not covered")
    args = ap.parse_args(argv)
    node_modules = install(args.version, args.cache)
    version = json.loads((node_modules / PACKAGE / "package.json").read_text())["version"]
    report = check(definitions(node_modules)) | {"package": f"{PACKAGE}@{version}"}
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print(f"{report['package']}: {report['definitions']} device definitions")
        for cls, v in report["summary"].items():
            print(f"  {cls:6} {v['covered']:4} of {v['devices']:4} devices decoded")
        print(f"  all    {report['covered']:4} of {report['total']:4}")
        for r in report["uncovered"]:
            missing = [f["field"] for f in r["fields"] if not f["read"]]
            print(f"NOT COVERED {r['class']:6} {r['model']} ({r['vendor']}): {', '.join(missing)}")
        for name in report["settings_named_like_alarms"]:
            print(f"SETTING named like an alarm, not in ALARM_KEY_SETTINGS: {name}")
        for name, models in report["alarm_like_properties_not_classified"].items():
            print(f"ALARM-LIKE property no signal classifies: {name} ({', '.join(models[:5])})")
    return 1 if args.strict and report["uncovered"] else 0


if __name__ == "__main__":
    sys.exit(main())
