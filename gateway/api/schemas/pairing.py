"""A pairing session (``gateway.api.routes.pairing``)."""

from __future__ import annotations

from pydantic import Field

from gateway.api.schemas.base import JsonObject, Out, Timestamp


class Pairing(Out):
    id: int
    home_id: str
    kind: str
    started_by: str
    started_at: Timestamp
    expires_at: Timestamp
    status: str = Field(description="waiting, paired, expired, cancelled")
    device_id: str | None = Field(description="paired: the device registered")
    model: str
    heard: JsonObject | None = Field(description="paired: what the device sent")
    paired_at: Timestamp | None
