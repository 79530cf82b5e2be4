"""The WebSocket hub: fans order changes out to every connected board, in order."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

log = logging.getLogger(__name__)

CLIENT_QUEUE = 2000  # a board that falls this far behind is dropped; it reconnects and resyncs


class LiveHub:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: set[asyncio.Queue[str | None]] = set()
        self.published = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @property
    def client_count(self) -> int:
        return len(self._clients)

    def subscribe(self) -> asyncio.Queue[str | None]:
        queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=CLIENT_QUEUE)
        self._clients.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str | None]) -> None:
        self._clients.discard(queue)

    def _fanout(self, text: str) -> None:
        self.published += 1
        for queue in list(self._clients):
            try:
                queue.put_nowait(text)
            except asyncio.QueueFull:
                log.warning("live client too slow; closing it so it reconnects and resyncs")
                self._clients.discard(queue)
                while not queue.empty():  # make room for the close sentinel
                    queue.get_nowait()
                queue.put_nowait(None)

    def publish(self, message: dict[str, Any]) -> None:
        """Call from any thread: the fan-out itself runs on the event loop."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        loop.call_soon_threadsafe(self._fanout, text)
