"""The `shewu` command: serve, sim, bridge, demo, user, token, db."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    from device_adapters.edge.dc09_receiver import configure_parser as configure_dc09
    from device_adapters.edge.serial_bridge import configure_parser as configure_bridge
    from firmware_sim.cli import configure_parser as configure_sim
    from gateway.admin_cli import configure_parsers as configure_accounts
    from gateway.config import add_settings_arguments
    from gateway.db_cli import configure_parser as configure_db
    from gateway.demo import configure_parser as configure_demo
    from gateway.serve import run_serve

    parser = argparse.ArgumentParser(prog="shewu", description="Shewu (社物共治) community emergency gateway")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway, API and dashboard")
    add_settings_arguments(serve)
    serve.set_defaults(func=run_serve)

    sim = sub.add_parser("sim", help="simulated devices, scenarios and load")
    configure_sim(sim)

    bridge = sub.add_parser("bridge", help="bridges from other transports to MQTT")
    bridge_sub = bridge.add_subparsers(dest="bridge", required=True)
    configure_bridge(bridge_sub.add_parser("serial", help="serial receiver → MQTT, with an on-disk outbox"))
    configure_dc09(bridge_sub.add_parser("dc09", help="SIA DC-09 alarm receiver (TCP) → MQTT, with an on-disk outbox"))

    demo = sub.add_parser("demo", help="broker + gateway + a simulated community, on embedded defaults")
    configure_demo(demo)

    configure_accounts(sub)
    configure_db(sub.add_parser("db", help="schema upgrades, backup and restore"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
