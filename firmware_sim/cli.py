"""``shewu sim ...``: simulated devices, scenarios, a community and the load generator.

shewu sim sos --device elder-101-sos [--format z2m|native|serial] [--mqtt mqtt://127.0.0.1:1883]
shewu sim fall | leak [--cleared] | heartbeat | telemetry | battery-low | tamper | offline | online
shewu sim scenario flaky_sos [--speed 10]
shewu sim community --homes 30 [--rate 0.02] [--csv devices.csv]
shewu sim load --rate 5000 --duration 10 --alarm-rate 100 --devices 1000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from firmware_sim.devices import UnsupportedEvent, make_device
from firmware_sim.encoding import DEFAULT_Z2M_BASE, Message
from firmware_sim.models import Format, Role, guess_role, parse_event_name
from firmware_sim.scenario import SCENARIO_DIR, FiredStep, ScenarioError, ScenarioRunner, load_scenario
from firmware_sim.transport import DEFAULT_MQTT_URL, MqttPublisher, Sender, SerialWriter

# subcommand → (event, default device id, help)
DEVICE_COMMANDS: dict[str, tuple[str, str, str]] = {
    "sos": ("sos", "elder-101-sos", "press an SOS button"),
    "fall": ("fall", "elder-101-radar", "a fall radar detects a fall"),
    "leak": ("leak", "elder-101-leak", "a leak detector gets wet (--cleared: dry again)"),
    "heartbeat": ("heartbeat", "elder-101-sos", "a device reports its readings"),
    "telemetry": ("telemetry", "elder-101-sos", "a device reports readings (no alarm)"),
    "battery-low": ("battery_low", "elder-101-sos", "a device's battery runs low"),
    "tamper": ("tamper", "elder-101-leak", "a device's case is opened"),
    "offline": ("offline", "elder-101-sos", "a device drops off the network"),
    "online": ("online", "elder-101-sos", "a device comes back"),
}


def _data_pair(text: str) -> tuple[str, Any]:
    key, eq, value = text.partition("=")
    if not eq or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not key=value")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be positive")
    return value


def _add_output_args(p: argparse.ArgumentParser, *, with_format: bool = True) -> None:
    if with_format:
        p.add_argument(
            "--format",
            choices=[f.value for f in Format],
            default=Format.Z2M.value,
            help="wire format (default: z2m)",
        )
    p.add_argument("--mqtt", default=DEFAULT_MQTT_URL, help=f"broker URL (default: {DEFAULT_MQTT_URL})")
    p.add_argument(
        "--z2m-base", default=DEFAULT_Z2M_BASE, help="Zigbee2MQTT base topic (default: zigbee2mqtt)"
    )
    p.add_argument("--port", help="serial port or pyserial URL for --format serial (e.g. /dev/pts/3)")
    p.add_argument("--baud", type=int, default=115200, help="serial baud rate (default: 115200)")
    p.add_argument("--seq", type=int, default=0, help="first serial sequence number (default: 0)")
    p.add_argument(
        "--action-topic",
        action="store_true",
        help="z2m: also publish the legacy plain-text <base>/<name>/action",
    )
    p.add_argument("--dry-run", action="store_true", help="print the messages, send nothing")
    p.add_argument("-q", "--quiet", action="store_true", help="do not print each message")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``sim`` subcommands to ``parser``; each sets ``func`` to its ``run(args) -> int``."""
    sub = parser.add_subparsers(dest="sim_command", required=True, metavar="COMMAND")
    for name, (event, device, help_text) in DEVICE_COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--device", default=device, help=f"device id / friendly name (default: {device})")
        p.add_argument(
            "--model",
            choices=[r.value for r in Role],
            help="device type (default: guessed from the id, e.g. *-sos, *-radar, *-leak)",
        )
        p.add_argument(
            "--data",
            type=_data_pair,
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="set a reading first, e.g. --data battery=42 (repeatable)",
        )
        p.add_argument("--count", type=int, default=1, help="send it this many times (default: 1)")
        p.add_argument("--interval", type=float, default=1.0, help="seconds between repeats (default: 1)")
        if name == "leak":
            p.add_argument("--cleared", action="store_true", help="the leak is over: water_leak false")
        _add_output_args(p)
        p.set_defaults(func=run_event, event=event)

    p = sub.add_parser(
        "scenario",
        help="play a scenario file (JSON or text) of timed steps",
        description=f"Play a scenario. Shipped: {', '.join(_shipped())} (in {SCENARIO_DIR}).",
    )
    p.add_argument("file", nargs="?", help="scenario file, or the name of a shipped one")
    p.add_argument("--speed", type=_positive, default=1.0, help="play faster (>1) or slower (<1)")
    p.add_argument("--list", action="store_true", help="list the shipped scenarios")
    _add_output_args(p, with_format=False)
    p.add_argument("--format", choices=[f.value for f in Format], help="send every step in this format")
    p.set_defaults(func=run_scenario)

    p = sub.add_parser("community", help="a simulated community of homes, heartbeating and raising alarms")
    p.add_argument("--homes", type=int, default=30, help="number of homes (default: 30)")
    p.add_argument("--rate", type=float, default=0.02, help="alarms per home per minute (default: 0.02)")
    p.add_argument(
        "--heartbeat", type=_positive, default=60.0, help="seconds between heartbeats (default: 60)"
    )
    p.add_argument("--seed", type=int, default=2026, help="random seed: same seed, same residents")
    p.add_argument(
        "--duration", type=_positive, help="stop after this many seconds (default: run until Ctrl-C)"
    )
    p.add_argument("--csv", help="write the device registry (CSV) to this path first")
    p.add_argument("--csv-only", action="store_true", help="write --csv and exit")
    _add_output_args(p, with_format=False)
    p.set_defaults(func=run_community)

    p = sub.add_parser("load", help="the load generator: heartbeats at a rate, plus SOS alarms")
    p.add_argument("--rate", type=float, default=5000.0, help="heartbeats per second (default: 5000)")
    p.add_argument("--duration", type=_positive, default=10.0, help="seconds (default: 10)")
    p.add_argument("--alarm-rate", type=float, default=0.0, help="SOS alarms per second (default: 0)")
    p.add_argument("--devices", type=int, default=1000, help="heartbeating devices (default: 1000)")
    p.add_argument("--alarm-prefix", default="bench-sos-", help="alarm device ids: <prefix><n>")
    p.add_argument("--mqtt", default=DEFAULT_MQTT_URL, help=f"broker URL (default: {DEFAULT_MQTT_URL})")
    p.add_argument(
        "--z2m-base", default=DEFAULT_Z2M_BASE, help="Zigbee2MQTT base topic (default: zigbee2mqtt)"
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run_load_command)


def _shipped() -> list[str]:
    return sorted(path.stem for path in SCENARIO_DIR.glob("*.json"))


def _error(message: str) -> int:
    print(f"shewu sim: {message}", file=sys.stderr)
    return 2


def _print_messages(
    messages: list[Message] | tuple[Message, ...], fmt: Format, port: str | None, prefix: str = ""
) -> None:
    for message in messages:
        where = message.topic or (port or "serial")
        retain = " (retained)" if message.retain else ""
        text = message.payload.decode("utf-8", errors="replace").rstrip("\r\n")
        print(f"{prefix}{fmt.value:<6} {where}{retain}  {text}", flush=True)


@contextlib.contextmanager
def _sender(args: argparse.Namespace, formats: set[Format]) -> Iterator[Sender]:
    """A Sender with the outputs ``formats`` need (none with --dry-run)."""
    publisher: MqttPublisher | None = None
    writer: SerialWriter | None = None
    try:
        if args.dry_run:
            sender = Sender(
                publish=lambda _m: None,
                write=lambda _b: None,
                z2m_base=args.z2m_base,
                first_seq=args.seq,
                action_topic=args.action_topic,
            )
        else:
            if formats & {Format.Z2M, Format.NATIVE}:
                publisher = MqttPublisher(args.mqtt)
            if Format.SERIAL in formats:
                if not args.port:
                    raise ValueError("--format serial needs --port (a serial device, pty or pyserial URL)")
                writer = SerialWriter(args.port, baudrate=args.baud)
            sender = Sender(
                publish=publisher.publish if publisher else None,
                write=writer.write if writer else None,
                z2m_base=args.z2m_base,
                first_seq=args.seq,
                action_topic=args.action_topic,
            )
        yield sender
    finally:
        if publisher is not None and not publisher.close(timeout=10.0):
            print("shewu sim: warning: not every message was acknowledged by the broker", file=sys.stderr)
        if writer is not None:
            writer.close()


def run_event(args: argparse.Namespace) -> int:
    """One device event (``sos``, ``fall``, ``leak`` ...), ``--count`` times."""
    event = "leak_cleared" if getattr(args, "cleared", False) else args.event
    fmt = Format(args.format)
    kind = parse_event_name(event).kind
    role = Role(args.model) if args.model else guess_role(args.device, kind)
    device = make_device(role, args.device)
    if not device.supports(kind):
        return _error(f"a {role.value} cannot send {event}; pick another --device or --model")
    try:
        with _sender(args, {fmt}) as sender:
            for i in range(max(1, args.count)):
                if i:
                    time.sleep(max(0.0, args.interval))
                messages = sender.send(device, event, fmt, overrides=dict(args.data))
                if not args.quiet:
                    _print_messages(messages, fmt, args.port)
    except (ConnectionError, OSError, ValueError, UnsupportedEvent) as exc:
        return _error(str(exc))
    return 0


def run_scenario(args: argparse.Namespace) -> int:
    if args.list or not args.file:
        for name in _shipped():
            scenario = load_scenario(name)
            print(f"{name:<20} {scenario.duration:6.1f} s  {scenario.description}")
        return 0 if args.list else _error("give a scenario FILE (or --list)")
    try:
        scenario = load_scenario(args.file)
    except (OSError, ScenarioError) as exc:
        return _error(str(exc))
    override = Format(args.format) if args.format else None
    formats = {override} if override else {step.format for step in scenario.steps}

    def show(fired: FiredStep) -> None:
        if not args.quiet:
            step = fired.step
            _print_messages(
                fired.messages,
                override or step.format,
                args.port,
                prefix=f"[{step.at:7.2f}s] {step.device} {step.event}: ",
            )

    if not args.quiet:
        print(
            f"scenario {scenario.name}: {len(scenario.steps)} steps over {scenario.duration:.1f} s "
            f"at speed {args.speed:g}",
            flush=True,
        )
    try:
        with _sender(args, formats) as sender:
            runner = ScenarioRunner(
                scenario,
                sender,
                speed=args.speed,
                format_override=override,
                on_step=show,
                sleep=(lambda _s: None) if args.dry_run else time.sleep,
            )
            runner.run()
    except (ConnectionError, OSError, ValueError, UnsupportedEvent) as exc:
        return _error(str(exc))
    return 0


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    return stop


def run_community(args: argparse.Namespace) -> int:
    from firmware_sim.community import Community, CommunityEvent

    community = Community(args.homes, seed=args.seed, alarm_rate=args.rate, heartbeat_s=args.heartbeat)
    if args.csv:
        community.write_csv(args.csv)
        print(
            f"wrote {len(community.registry_rows())} devices of {args.homes} homes to {args.csv}", flush=True
        )
        if args.csv_only:
            return 0
    formats = set(community.formats.values())
    stop = _stop_on_signals()
    started = time.monotonic()
    try:
        with _sender(args, formats) as sender:
            if not args.quiet:
                print(
                    f"community of {args.homes} homes ({len(community.registry_rows())} devices) on "
                    f"{'nothing (dry run)' if args.dry_run else args.mqtt}; Ctrl-C to stop",
                    flush=True,
                )

            def show(event: CommunityEvent) -> None:
                if not args.quiet and event.event not in ("heartbeat", "online"):
                    _print_messages(
                        event.messages[:1],
                        event.format,
                        args.port,
                        prefix=f"[{event.at - started:8.1f}s] {event.event:<12} ",
                    )

            community.on_event = show
            community.run(sender, duration=args.duration, stop=stop, tick=1.0)
    except (ConnectionError, OSError, ValueError) as exc:
        return _error(str(exc))
    if not args.quiet:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(community.counts.items()))
        print(f"sent: {counts}", flush=True)
    return 0


def run_load_command(args: argparse.Namespace) -> int:
    from firmware_sim.load import run_load

    stop = _stop_on_signals()
    try:
        result = run_load(
            args.mqtt,
            rate=args.rate,
            duration=args.duration,
            alarm_rate=args.alarm_rate,
            devices=args.devices,
            alarm_prefix=args.alarm_prefix,
            z2m_base=args.z2m_base,
            stop=stop,
        )
    except (ConnectionError, OSError, ValueError) as exc:
        return _error(str(exc))
    if args.json:
        print(
            json.dumps(
                {
                    "target_rate": result.target_rate,
                    "sent": result.sent,
                    "heartbeats": result.heartbeats,
                    "alarms": result.alarms,
                    "acked": result.acked,
                    "all_acked": result.all_acked,
                    "duration_s": round(result.duration_s, 3),
                    "achieved_rate": round(result.achieved_rate, 1),
                    "drain_s": round(result.drain_s, 3),
                    "cpu_s": round(result.cpu_s, 3),
                }
            )
        )
    else:
        print(result.summary())
    return 0 if result.all_acked else 1
