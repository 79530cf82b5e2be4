"""Health and the dead-letter store (``gateway.api.routes.system``)."""

from __future__ import annotations

from pydantic import Field

from gateway.api.schemas.base import Absent, Out, Timestamp, absent


class Health(Out):
    status: str = Field(description="ok (HTTP 200) or degraded (HTTP 503)")
    db: bool = Field(description="the database answers")
    mqtt: bool | None = Field(description="ingest is connected to the broker; null: no ingest in this process")
    timers: bool | None = Field(description="the scheduler polls; null: not run in this process")
    instance: str
    ingest: str | Absent = absent("with ingest: ok, or failing (alarms are held by the broker)")
    reason: str | Absent = absent("ingest failing: why alarms are not being stored")


class DeadLetter(Out):
    id: int
    received_at: Timestamp
    topic: str
    reason: str
    detail: str
    payload: str = Field(description="as received, decoded as UTF-8 (invalid bytes replaced)")
    payload_size: int
