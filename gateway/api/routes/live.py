"""The live feed: a snapshot of active orders, then every change as it commits.

Signed in by the session cookie, an ``Authorization: Bearer`` header, or ``?token=`` (for
clients that cannot set headers on a WebSocket). Technicians get only the orders assigned to
them, grid workers only their grid's: plus, once, the change that takes an order out of their
view, so that their page can drop it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from gateway.api.deps import SESSION_COOKIE, request_token
from gateway.api.routes.orders import scope
from gateway.clock import iso
from gateway.domain.roles import Perm, Role, allowed
from gateway.runtime import Runtime
from gateway.services.accounts import Principal, principal_for
from gateway.storage import crud
from gateway.storage.db import session as open_session
from gateway.views import order_json

router = APIRouter(tags=["live"])

PING_EVERY_S = 15.0
UNAUTHORIZED = 4401  # close codes 4000-4999 are the application's
FORBIDDEN = 4403


class _View:
    """Which live messages one scoped principal may see."""

    def __init__(self, scope: dict[str, str], visible: set[int]) -> None:
        self.scope = scope
        self.visible = visible

    def admit(self, text: str) -> bool:
        message: dict[str, Any] = json.loads(text)
        if message.get("type") == "order":
            order = message.get("order") or {}
            oid = order.get("id")
            if all(order.get(k) == v for k, v in self.scope.items()):
                self.visible.add(oid)
                return True
            if oid in self.visible:  # it just left this view: say so once
                self.visible.discard(oid)
                return True
            return False
        if message.get("type") == "escalation":
            return message.get("order_id") in self.visible
        return True


def _principal(websocket: WebSocket, runtime: Runtime) -> Principal | None:
    token = request_token(websocket.headers.get("authorization"), websocket.cookies.get(SESSION_COOKIE))
    token = token or websocket.query_params.get("token")
    if not token:
        return None
    with open_session(runtime.engine) as s:
        return principal_for(s, token=token, now=runtime.clock())


@router.websocket("/api/live")
async def live(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    # Accept first, then refuse with a close code: a refusal during the handshake reaches a
    # browser only as a failed connection (1006), without the reason.
    await websocket.accept()
    principal = await asyncio.to_thread(_principal, websocket, runtime)
    if principal is None:
        await websocket.close(code=UNAUTHORIZED, reason="sign in first")
        return
    if not allowed(principal.role, Perm.LIVE):
        await websocket.close(code=FORBIDDEN, reason=f"role {principal.role.value} has no live feed")
        return
    if principal.role is Role.GRID_WORKER and not principal.grid:
        await websocket.close(code=FORBIDDEN, reason="no grid is assigned to you")
        return
    limits = scope(principal)
    # Subscribe before reading the snapshot, so that nothing committed in between is missed;
    # a change that is also in the snapshot is simply applied twice, which is harmless.
    queue = runtime.hub.subscribe()
    sender = asyncio.create_task(_send(websocket, runtime, queue, principal, limits))
    try:
        while True:  # the client sends nothing we use, but reading is how a departure is noticed
            if (await websocket.receive())["type"] == "websocket.disconnect":
                break
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender
        runtime.hub.unsubscribe(queue)
        with contextlib.suppress(Exception):
            await websocket.close()


async def _send(websocket: WebSocket, runtime: Runtime, queue: asyncio.Queue[str | None], principal: Principal,
                limits: dict[str, str]) -> None:
    now = runtime.clock()

    def snapshot() -> list[dict[str, Any]]:
        with open_session(runtime.engine) as s:
            return [order_json(o, now) for o in crud.list_orders(s, active=True, limit=1000, **limits)]

    try:
        orders = await asyncio.to_thread(snapshot)
        view = _View(limits, {o["id"] for o in orders}) if limits else None
        await websocket.send_json({"type": "snapshot", "now": iso(now), "orders": orders,
                                   "me": {"name": principal.name, "role": principal.role.value}})
        loop = asyncio.get_running_loop()
        last_sent = loop.time()
        while True:
            # A ping when nothing was SENT for a while: messages filtered out of a scoped view
            # do not count, or a technician's page would think the link dead.
            wait = max(0.0, last_sent + PING_EVERY_S - loop.time())
            try:
                text = await asyncio.wait_for(queue.get(), timeout=wait)
            except TimeoutError:
                await websocket.send_json({"type": "ping", "now": iso(runtime.clock())})
                last_sent = loop.time()
                continue
            if text is None:  # dropped for being too slow
                await websocket.close(code=1013)
                return
            if view is None or view.admit(text):
                await websocket.send_text(text)
                last_sent = loop.time()
    except (WebSocketDisconnect, RuntimeError):
        return
