"""Which model each registered device is, for the decoders' model tables.

The Zigbee2MQTT decoder asks ``model_of(friendly_name)`` for every message, so the answer
comes from memory: the registry's (device_id, model) pairs, re-read when older than
``max_age``. A device registered a moment ago is decoded with the generic profile until the
next refresh.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from gateway.storage.models import Device

_MODELS = sa.select(Device.__table__.c.device_id, Device.__table__.c.model).where(  # type: ignore[attr-defined]
    Device.__table__.c.model != ""  # type: ignore[attr-defined]
)


class RegistryModels:
    def __init__(
        self, engine: Engine, *, max_age: float = 30.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._engine = engine
        self._max_age = max_age
        self._monotonic = monotonic
        self._models: dict[str, str] = {}
        self._loaded_at: float | None = None

    def refresh_if_stale(self) -> None:
        """Call between batches, not per message."""
        now = self._monotonic()
        if self._loaded_at is not None and now - self._loaded_at < self._max_age:
            return
        try:
            with self._engine.connect() as conn:
                self._models = {row.device_id: row.model for row in conn.execute(_MODELS)}
        except SQLAlchemyError:
            pass  # keep what we had; ingest's own retry reports the database
        self._loaded_at = now

    def model_of(self, device_id: str) -> str | None:
        return self._models.get(device_id)
