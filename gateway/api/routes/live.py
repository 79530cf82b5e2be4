"""The live feed: a snapshot of active orders, then every change as it commits."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from gateway.clock import iso
from gateway.runtime import Runtime
from gateway.storage import crud
from gateway.storage.db import session as open_session
from gateway.views import order_json

router = APIRouter(tags=["live"])

PING_EVERY_S = 15.0


@router.websocket("/api/live")
async def live(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    await websocket.accept()
    # Subscribe before reading the snapshot, so that nothing committed in between is missed;
    # a change that is also in the snapshot is simply applied twice, which is harmless.
    queue = runtime.hub.subscribe()
    try:
        now = runtime.clock()

        def snapshot() -> list[dict[str, object]]:
            with open_session(runtime.engine) as s:
                return [order_json(o, now) for o in crud.list_orders(s, active=True, limit=1000)]

        orders = await asyncio.to_thread(snapshot)
        await websocket.send_json({"type": "snapshot", "now": iso(now), "orders": orders})
        while True:
            try:
                text = await asyncio.wait_for(queue.get(), timeout=PING_EVERY_S)
            except TimeoutError:
                await websocket.send_json({"type": "ping", "now": iso(runtime.clock())})
                continue
            if text is None:  # dropped for being too slow
                await websocket.close(code=1013)
                return
            await websocket.send_text(text)
    except WebSocketDisconnect:
        pass
    finally:
        runtime.hub.unsubscribe(queue)
        with contextlib.suppress(Exception):
            await websocket.close()
