"""Health, metrics and the dead-letter store."""

from __future__ import annotations

import time
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import PlainTextResponse

from gateway.api.deps import Allowed, RuntimeDep, SessionDep
from gateway.api.schemas import system as schemas
from gateway.api.schemas.base import ExactRoute
from gateway.clock import iso
from gateway.domain.roles import Perm
from gateway.storage import crud

router = APIRouter(tags=["system"], route_class=ExactRoute)


@router.get("/healthz", response_model=schemas.Health,
            responses={503: {"model": schemas.Health, "description": "degraded: status is degraded"}})
def healthz(runtime: RuntimeDep, response: Response) -> dict[str, Any]:
    try:
        with runtime.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        db = True
    except sa.exc.SQLAlchemyError:
        db = False
    ingest = runtime.ingest
    mqtt = ingest.connected.is_set() if ingest is not None else None
    scheduler = runtime.scheduler
    timers: bool | None = None  # the scheduler's thread polls (None: not run here)
    if scheduler is not None and runtime.settings.scheduler_interval > 0:
        stale_after = max(30.0, 10 * runtime.settings.scheduler_interval)
        last = scheduler.last_poll
        timers = (last is not None and time.monotonic() - last < stale_after) or \
            (last is None and time.monotonic() - runtime.started < stale_after)
    ok = db and mqtt is not False and (ingest is None or ingest.db_ok) and timers is not False
    body: dict[str, Any] = {"status": "ok" if ok else "degraded", "db": db, "mqtt": mqtt, "timers": timers,
                            "instance": runtime.settings.instance_id}
    if ingest is not None:
        body["ingest"] = "ok" if ingest.db_ok else "failing"
        if not ingest.db_ok:
            body["reason"] = ingest.db_error  # why alarms are not being stored (held by the broker)
    response.status_code = 200 if ok else 503
    return body


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(runtime: RuntimeDep) -> str:
    notify = runtime.notify
    counters = {} if notify is None else {
        "shewu_notifications_sent_total": ("Notifications delivered to a channel.", notify.sent),
        "shewu_notifications_retried_total": ("Failed sends scheduled to be tried again.", notify.retried),
        "shewu_notifications_failed_total": ("Notifications given up after their last attempt.", notify.failed),
    }
    return runtime.metrics.render(extra={"shewu_live_clients": runtime.hub.client_count}, counters=counters)


@router.get("/api/deadletters", dependencies=[Depends(Allowed(Perm.DEADLETTERS_READ))],
            response_model=list[schemas.DeadLetter])
def dead_letters(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    reason: str | None = None,
) -> list[dict[str, Any]]:
    return [
        {
            "id": d.id,
            "received_at": iso(d.received_at),
            "topic": d.topic,
            "reason": d.reason,
            "detail": d.detail,
            "payload": d.payload.decode("utf-8", errors="replace"),
            "payload_size": d.payload_size,
        }
        for d in crud.list_dead_letters(session, limit=limit, reason=reason)
    ]
