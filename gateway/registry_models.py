"""Which model and kind each registered device is, for the decoders' model tables.

The decoders ask ``model_of(device_id)`` and ``kind_of(device_id)`` for every message, so the
answer comes from memory: the registry's (device_id, model, kind) rows, re-read whenever the
registry's change counter (``registry_version``, bumped in the transaction of every change) has
moved since the last read, checked before each batch; so a device registered a moment ago is
decoded with its own profile from the next message on. ``max_age`` re-reads anyway, as a backstop.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from gateway.storage.models import Device
from gateway.storage.registry import read_version

_T = Device.__table__.c  # type: ignore[attr-defined]
_MODELS = sa.select(_T.device_id, _T.model, _T.kind).where(sa.or_(_T.model != "", _T.kind != ""))


class RegistryModels:
    def __init__(
        self, engine: Engine, *, max_age: float = 300.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._engine = engine
        self._max_age = max_age
        self._monotonic = monotonic
        self._models: dict[str, str] = {}
        self._kinds: dict[str, str] = {}
        self._loaded_at: float | None = None
        self._version: int | None = None

    def refresh_if_stale(self) -> None:
        """Call between batches, not per message: one small read, and a reload when the registry
        changed."""
        now = self._monotonic()
        try:
            with self._engine.connect() as conn:
                version = read_version(conn)
                if version == self._version and self._loaded_at is not None and now - self._loaded_at < self._max_age:
                    return
                rows = conn.execute(_MODELS).all()
            self._models = {row.device_id: row.model for row in rows if row.model}
            self._kinds = {row.device_id: row.kind for row in rows if row.kind}
            self._version = version
        except SQLAlchemyError:
            pass  # keep what we had; ingest's own retry reports the database
        self._loaded_at = now

    def model_of(self, device_id: str) -> str | None:
        return self._models.get(device_id)

    def kind_of(self, device_id: str) -> str | None:
        """The registry's kind of a device (``sos``, ``leak``, ``smoke``, ...), or None."""
        return self._kinds.get(device_id)
