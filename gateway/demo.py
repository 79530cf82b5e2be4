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


# Demo staff: (name, role, display name, profile). Passwords are made on the first run and kept
# in <data-dir>/accounts.txt (mode 600), so that a demo bound to a network is not open to all.
DEMO_STAFF: tuple[tuple[str, str, str, dict[str, object]], ...] = (
    ("admin", "admin", "管理员 Admin", {"team": "community"}),
    ("duty", "dispatcher", "值班员小刘 Liu (on call)", {"team": "community"}),
    ("leader", "dispatcher", "值班领导老陈 Chen (duty leader)", {"team": "community"}),
    ("tech-wang", "technician", "王师傅 Wang (plumbing)", {"team": "property", "skills": ["plumbing", "devices"],
                                                         "grid": "G1"}),
    ("tech-zhao", "technician", "赵师傅 Zhao (care)", {"team": "property", "skills": ["elderly_care", "devices"],
                                                     "grid": "G2"}),
    ("grid-sun", "grid_worker", "网格员小孙 Sun", {"team": "community", "grid": "G1"}),
)


def seed_accounts(engine: object, data_dir: Path, now: object) -> list[tuple[str, str, str]]:
    """Create the demo staff once; answer (name, role, password) from <data-dir>/accounts.txt."""
    import secrets

    from gateway.domain.rota import Shift
    from gateway.services.accounts import create_user
    from gateway.services.rota import replace_weekly, weekly_plan
    from gateway.storage import accounts
    from gateway.storage.db import session

    path = data_dir / "accounts.txt"
    known: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, _, password = line.partition(" ")
            known[name] = password
    out = []
    with session(engine) as s:  # type: ignore[arg-type]
        for name, role, display, profile in DEMO_STAFF:
            if accounts.get_user(s, name=name) is None:
                known[name] = secrets.token_urlsafe(9)
                create_user(s, name=name, role=role, password=known[name], now=now,  # type: ignore[arg-type]
                            display_name=display, **profile)
            out.append((name, role, known.get(name, "(set before; see accounts.txt)")))
        if not weekly_plan(s):  # someone on call around the clock, so that escalations reach people
            replace_weekly(s, shifts=[Shift(d, "00:00", "24:00", "duty", "dispatcher") for d in range(7)]
                           + [Shift(d, "00:00", "24:00", "leader", "leader") for d in range(7)],
                           now=now, by="demo")  # type: ignore[arg-type]
        s.commit()
    path.write_text("".join(f"{n} {p}\n" for n, p in known.items()))
    path.chmod(0o600)
    return out


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
        instance_id="shewu-demo", mqtt_protocol=protocol, photo_dir=str(data_dir / "photos"),
    )
    app = create_app(settings)
    runtime = app.state.runtime
    community = Community(args.homes, seed=args.seed, alarm_rate=args.alarm_rate)
    created = register_community(runtime.engine, [r.as_dict() for r in community.registry_rows()], runtime.clock())
    print(f"Community: {args.homes} homes, {len(community.registry_rows())} devices ({created} newly registered)")
    staff = seed_accounts(runtime.engine, data_dir, runtime.clock())

    stop = threading.Event()

    def simulate() -> None:
        try:
            with MqttPublisher(mqtt_url, client_id="shewu-demo-sim") as publisher:
                community.run(Sender(publish=publisher.publish), stop=stop)
        except Exception:
            log.exception("simulated community stopped")

    sim = threading.Thread(target=simulate, name="community", daemon=True)
    sim.start()
    sign_ins = "".join(f"    {name:<10} {role:<12} {password}\n" for name, role, password in staff)
    print(f"\n  Dashboard (on-call board): http://{args.host}:{port}/\n"
          f"  Technician page (phone):   http://{args.host}:{port}/tech.html\n"
          f"  API docs: http://{args.host}:{port}/docs\n"
          f"  Sign in as (kept in {data_dir / 'accounts.txt'}):\n{sign_ins}"
          "  Press Ctrl+C to stop.\n", flush=True)
    try:
        uvicorn.run(app, host=args.host, port=port, log_level="warning")
    finally:
        stop.set()
        sim.join(5)
        if broker is not None:
            broker.stop()
    return 0
