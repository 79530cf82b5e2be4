"""Simulated devices: small stateful objects that turn "this happened" into a :class:`Reading`.

A device keeps its readings (battery, link quality, leak state, ...) between events the way a
real one does, so a heartbeat after a leak still reports ``water_leak: true`` until the leak is
cleared. How a reading goes on the wire is :mod:`firmware_sim.encoding`'s business.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, ClassVar

from device_adapters.events import EventKind
from firmware_sim.encoding import Reading
from firmware_sim.models import COMMON_KINDS, MODELS, Format, ModelSpec, Role


class UnsupportedEvent(ValueError):
    """The device cannot raise that event (a leak detector has no SOS button)."""


class SimDevice:
    """One simulated device. Subclasses only pick their :class:`ModelSpec`."""

    spec: ClassVar[ModelSpec]

    def __init__(self, device_id: str, *, rng: random.Random | None = None) -> None:
        self.device_id = device_id
        self.rng = rng or random.Random()
        self.state: dict[str, Any] = dict(self.spec.initial)
        self.online = True

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.device_id!r})"

    @property
    def role(self) -> Role:
        return self.spec.role

    def model(self, fmt: Format) -> str:
        return self.spec.model_for(fmt)

    def supports(self, kind: EventKind) -> bool:
        return kind in COMMON_KINDS or kind in self.spec.events

    def reading(
        self, kind: EventKind, *, value: Any = None, overrides: Mapping[str, Any] | None = None
    ) -> Reading:
        """The device raises ``kind`` (``value``: ``online``/``offline`` for availability).

        ``overrides`` sets readings first (a scenario's ``{"illuminance_lux": 0}`` at night).
        """
        if not self.supports(kind):
            raise UnsupportedEvent(f"{self.device_id} ({self.spec.role}) cannot send {kind}")
        if overrides:
            self.state.update(overrides)
        if kind is EventKind.AVAILABILITY:
            self.online = value != "offline"
            return Reading(
                self.device_id, kind, self.spec.native_model, value="online" if self.online else "offline"
            )
        if kind in (EventKind.HEARTBEAT, EventKind.TELEMETRY):
            self._drift()
        changes = dict(self.spec.events.get(kind, {}))
        action = changes.pop("action", None)
        self.state.update(changes)
        state = dict(self.state)
        data = {key: state[key] for key in self.spec.report_keys if key in state}
        if kind is EventKind.BATTERY_LOW and value is None:
            value = state.get("battery")
        for key in self.spec.transient:  # a fall alarm resets, a tamper switch closes again
            if key in self.spec.initial:
                self.state[key] = self.spec.initial[key]
            else:
                self.state.pop(key, None)
        return Reading(
            self.device_id, kind, self.spec.native_model, state=state, data=data, value=value, action=action
        )

    def _drift(self) -> None:
        """Readings move a little between heartbeats: link quality wobbles, batteries drain."""
        if "linkquality" in self.state:
            base = int(self.spec.initial.get("linkquality", 100))
            self.state["linkquality"] = max(0, min(255, base + self.rng.randint(-12, 12)))
        battery = self.state.get("battery")
        if isinstance(battery, int) and battery > 10 and self.rng.random() < 0.01:
            self.state["battery"] = battery - 1


class SosButton(SimDevice):
    spec = MODELS[Role.SOS_BUTTON]


class FallRadar(SimDevice):
    spec = MODELS[Role.FALL_RADAR]


class LeakDetector(SimDevice):
    spec = MODELS[Role.LEAK_DETECTOR]


DEVICE_CLASSES: dict[Role, type[SimDevice]] = {
    Role.SOS_BUTTON: SosButton,
    Role.FALL_RADAR: FallRadar,
    Role.LEAK_DETECTOR: LeakDetector,
}


def make_device(role: Role | str, device_id: str, *, rng: random.Random | None = None) -> SimDevice:
    return DEVICE_CLASSES[Role(role)](device_id, rng=rng)
