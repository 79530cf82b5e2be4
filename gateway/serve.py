"""`shewu serve`: the gateway, API and dashboard in one process."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from gateway.app import create_app
from gateway.config import Settings, from_args


def serve(settings: Settings) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    print(f"Shewu gateway: http://{settings.host}:{settings.port}/  (API docs at /docs)", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", ws_ping_interval=20)
    return 0


def run_serve(args: argparse.Namespace) -> int:
    return serve(from_args(args))
