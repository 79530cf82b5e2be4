"""docs/wire-formats.md lists the DC-09 codes exactly as the data tables and the gateway's routing
have them, and the routing gives every kind an order with a ladder, targets and labels."""

from __future__ import annotations

import re
from pathlib import Path

from device_adapters.contact_id_codes import CONTACT_ID_CODES
from device_adapters.dc09_table import BEGIN, END, gateway_order_of, render
from device_adapters.events import EventKind
from device_adapters.sia_codes import SIA_CODES
from gateway.domain.dispatch import RULES as DISPATCH
from gateway.domain.ladders import LADDERS
from gateway.domain.orders import Priority
from gateway.domain.routing import ORDER_KINDS, RULES, route
from gateway.notify.messages import KIND_LABELS
from gateway.services.lists import ALARM_KIND_NAMES

ROOT = Path(__file__).resolve().parent.parent


def test_wire_formats_has_the_generated_code_tables() -> None:
    text = (ROOT / "docs" / "wire-formats.md").read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    assert text[start:end] == render(gateway_order_of), "run: python -m device_adapters.dc09_table"
    listed = set(re.findall(r"^\| (\d{3}) \|", text[start:end], re.MULTILINE))
    assert listed == set(CONTACT_ID_CODES)
    assert set(re.findall(r"^\| ([A-Z]{2}) \|", text[start:end], re.MULTILINE)) == set(SIA_CODES)


def test_every_kind_is_routed_and_every_order_kind_has_a_ladder_dispatch_and_labels() -> None:
    assert set(RULES) == set(EventKind)
    for kind in ORDER_KINDS:
        assert LADDERS.get(kind), kind
        assert kind in DISPATCH, kind
        assert kind in KIND_LABELS and kind in ALARM_KIND_NAMES, kind
    dashboard = (ROOT / "dashboard" / "static" / "i18n" / "common.js").read_text(encoding="utf-8")
    for kind in ("fire", "gas", "co", "intrusion", "alarm", "unknown_alarm", "trouble"):
        assert dashboard.count(f'"kind.{kind}"') == 2, kind  # zh and en


def test_life_safety_is_p1_and_unclassified_is_p2() -> None:
    for kind in (EventKind.FIRE, EventKind.GAS, EventKind.CO, EventKind.SOS):
        assert route(kind).priority is Priority.P1  # type: ignore[union-attr]
    for kind in (EventKind.UNKNOWN_ALARM, EventKind.INTRUSION, EventKind.ALARM):
        assert route(kind).priority is Priority.P2  # type: ignore[union-attr]
    panel_alarms = {c.kind for c in CONTACT_ID_CODES.values()} | {c.kind for c in SIA_CODES.values()}
    assert {EventKind.FIRE, EventKind.GAS, EventKind.CO, EventKind.SOS, EventKind.LEAK} <= panel_alarms
