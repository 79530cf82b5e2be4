"""A private Mosquitto for tests, in a temporary directory: `gateway.broker.Mosquitto` (the
same broker settings the demo uses), plus cleanup and a context manager."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from gateway.broker import Mosquitto, free_port, mosquitto_path

__all__ = ["MosquittoBroker", "free_port", "mosquitto_path"]


class MosquittoBroker(Mosquitto):
    def __init__(self, port: int | None = None, *, host: str = "127.0.0.1", persistence: bool = False) -> None:
        self._tmp = Path(tempfile.mkdtemp(prefix="shewu-mosquitto-"))
        super().__init__(self._tmp, port=port, host=host, persistence=persistence)

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self._tmp / "mosquitto.log").read_text(errors="replace")
        return ""

    def close(self) -> None:
        """Stop and remove the temporary directory."""
        self.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> MosquittoBroker:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
