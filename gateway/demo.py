"""`shewu demo`: a broker, the gateway on SQLite, and a simulated community, in one command."""

from __future__ import annotations

import argparse
import logging
import threading
from pathlib import Path

import uvicorn

from gateway.app import create_app
from gateway.broker import EmbeddedBroker, Mosquitto, free_port, port_open, start_local_broker
from gateway.config import Settings

log = logging.getLogger(__name__)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--homes", type=int, default=30, help="simulated homes (default 30)")
    parser.add_argument("--alarm-rate", type=float, default=0.02,
                        help="alarms per home per minute (default 0.02)")
    parser.add_argument("--port", type=int, default=8080, help="HTTP port (default 8080; a free one if taken)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--data-dir", default="var/demo", help="where the demo keeps its database and broker")
    parser.add_argument("--mqtt", dest="mqtt_url", help="use this broker instead of starting one")
    parser.add_argument("--seed", type=int, default=2026)
    parser.set_defaults(func=run)


def register_community(engine: object, rows: list[dict[str, str]], now: object) -> int:
    from gateway.storage import crud
    from gateway.storage.db import session
    from gateway.storage.models import Device

    created = 0
    with session(engine) as s:  # type: ignore[arg-type]
        for row in rows:
            if crud.get_device(s, device_id=row["device_id"]) is None:
                crud.save_device(s, device=Device(**row, created_at=now, updated_at=now))  # type: ignore[arg-type]
                created += 1
        s.commit()
    return created


def run(args: argparse.Namespace) -> int:
    from firmware_sim.community import Community
    from firmware_sim.transport import MqttPublisher, Sender

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    broker: Mosquitto | EmbeddedBroker | None = None
    protocol = 5
    if args.mqtt_url:
        mqtt_url = args.mqtt_url
    else:
        broker = start_local_broker(data_dir / "broker")
        mqtt_url, protocol = broker.url, broker.protocol
        kind = "Mosquitto" if isinstance(broker, Mosquitto) else "embedded amqtt (MQTT 3.1.1)"
        print(f"Broker: {kind} at {mqtt_url}", flush=True)
    port = args.port if not port_open(args.host, args.port) else free_port(args.host)
    settings = Settings(
        mqtt_url=mqtt_url, db_url=f"sqlite:///{data_dir / 'shewu.db'}", host=args.host, port=port,
        instance_id="shewu-demo", mqtt_protocol=protocol,
    )
    app = create_app(settings)
    runtime = app.state.runtime
    community = Community(args.homes, seed=args.seed, alarm_rate=args.alarm_rate)
    created = register_community(runtime.engine, [r.as_dict() for r in community.registry_rows()], runtime.clock())
    print(f"Community: {args.homes} homes, {len(community.registry_rows())} devices ({created} newly registered)")

    stop = threading.Event()

    def simulate() -> None:
        try:
            with MqttPublisher(mqtt_url, client_id="shewu-demo-sim") as publisher:
                community.run(Sender(publish=publisher.publish), stop=stop)
        except Exception:
            log.exception("simulated community stopped")

    sim = threading.Thread(target=simulate, name="community", daemon=True)
    sim.start()
    print(f"\n  Dashboard (on-call board): http://{args.host}:{port}/\n  API docs: http://{args.host}:{port}/docs\n"
          "  Press Ctrl+C to stop.\n", flush=True)
    try:
        uvicorn.run(app, host=args.host, port=port, log_level="warning")
    finally:
        stop.set()
        sim.join(5)
        if broker is not None:
            broker.stop()
    return 0
