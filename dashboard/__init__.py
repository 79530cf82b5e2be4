"""The pages people use, served by the gateway.

``STATIC_DIR`` is the on-call live board (plain HTML/CSS/JS, no build step): the gateway mounts it
at ``/`` with ``StaticFiles(html=True)``, so the board is at ``/`` and its assets at ``/board.js``
and so on. Everything it shows comes from the API in ``docs/api.md``.
"""

from __future__ import annotations

from pathlib import Path

STATIC_DIR: Path = Path(__file__).resolve().parent / "static"

__all__ = ["STATIC_DIR"]
