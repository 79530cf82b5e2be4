"""Settings: flags override environment variables, which override the embedded defaults."""

from __future__ import annotations

import argparse
import os
import socket
from dataclasses import dataclass, field, fields

DEFAULT_DB_URL = "sqlite:///var/shewu.db"


@dataclass(frozen=True, slots=True)
class Settings:
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    db_url: str = DEFAULT_DB_URL
    host: str = "127.0.0.1"
    port: int = 8080
    z2m_base: str = "zigbee2mqtt"
    # rtl_433's MQTT base topic (433 MHz sensors: <base>/<host>/events); "" turns it off.
    rtl433_base: str = "rtl_433"
    # Stable per instance: the broker keeps this client's persistent session across restarts.
    instance_id: str = field(default_factory=lambda: f"shewu-{socket.gethostname()}")
    # Several instances subscribe as one group ($share/<group>/...) and split the messages.
    shared_group: str = ""
    mqtt_protocol: int = 5  # 5 or 4 (3.1.1)
    max_payload: int = 65536
    max_body: int = 1_048_576
    batch_max: int = 2000
    ingest: bool = True
    # "process": decode and store in a worker process of their own, so that receiving and
    # storing do not share one GIL (the default); "thread": in the gateway process.
    ingest_worker: str = "process"
    # How often the scheduler polls for due timers (escalation steps); 0: no polling thread
    # (tests drive ``runtime.scheduler.run_once()`` with an injected clock).
    scheduler_interval: float = 1.0
    # The community's wall clock: rota shifts, day boundaries in reports.
    time_zone: str = "Asia/Shanghai"
    # How people reach this gateway, for links in notifications (e.g. https://shewu.example).
    public_url: str = ""
    # Photos residents attach to requests (checked, renamed, kept here).
    photo_dir: str = "var/photos"
    # Telemetry to InfluxDB 2: off while the URL is empty.
    influx_url: str = ""
    influx_token: str = ""
    influx_org: str = ""
    influx_bucket: str = ""
    # Retention, in days (0: keep for ever), of what the pruning job deletes: dead letters,
    # notifications sent or given up, escalation steps fired or void, sessions and tokens expired
    # or revoked, device history. Orders and their timelines are never pruned.
    retain_dead_letters_days: int = 30
    retain_notifications_days: int = 90
    retain_escalation_steps_days: int = 30
    retain_tokens_days: int = 30
    retain_device_history_days: int = 90

    @property
    def influx(self) -> tuple[str, str, str, str]:
        return (self.influx_url, self.influx_token, self.influx_org, self.influx_bucket)

    def with_overrides(self, **changes: object) -> Settings:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update({k: v for k, v in changes.items() if v is not None})
        return Settings(**values)  # type: ignore[arg-type]


_ENV: dict[str, tuple[str, type]] = {
    "mqtt_url": ("SHEWU_MQTT_URL", str),
    "db_url": ("SHEWU_DB_URL", str),
    "host": ("SHEWU_HTTP_HOST", str),
    "port": ("SHEWU_HTTP_PORT", int),
    "z2m_base": ("SHEWU_Z2M_BASE", str),
    "rtl433_base": ("SHEWU_RTL433_BASE", str),
    "instance_id": ("SHEWU_INSTANCE_ID", str),
    "shared_group": ("SHEWU_SHARED_GROUP", str),
    "mqtt_protocol": ("SHEWU_MQTT_PROTOCOL", int),
    "ingest_worker": ("SHEWU_INGEST_WORKER", str),
    "time_zone": ("SHEWU_TIME_ZONE", str),
    "public_url": ("SHEWU_PUBLIC_URL", str),
    "photo_dir": ("SHEWU_PHOTO_DIR", str),
    "influx_url": ("SHEWU_INFLUX_URL", str),
    "influx_token": ("SHEWU_INFLUX_TOKEN", str),  # environment only: a flag would show in ps
    "influx_org": ("SHEWU_INFLUX_ORG", str),
    "influx_bucket": ("SHEWU_INFLUX_BUCKET", str),
    "retain_dead_letters_days": ("SHEWU_RETAIN_DEAD_LETTERS_DAYS", int),
    "retain_notifications_days": ("SHEWU_RETAIN_NOTIFICATIONS_DAYS", int),
    "retain_escalation_steps_days": ("SHEWU_RETAIN_ESCALATION_STEPS_DAYS", int),
    "retain_tokens_days": ("SHEWU_RETAIN_TOKENS_DAYS", int),
    "retain_device_history_days": ("SHEWU_RETAIN_DEVICE_HISTORY_DAYS", int),
}

RETENTION_HELP = {  # the flag's name after --retain-, what it keeps
    "dead_letters": "dead letters",
    "notifications": "notifications sent or given up",
    "escalation_steps": "escalation steps fired or void",
    "tokens": "sessions and API tokens after they expired or were revoked",
    "device_history": "device history samples",
}


def from_env(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for name, (var, cast) in _ENV.items():
        if env.get(var):
            values[name] = cast(env[var])
    return Settings().with_overrides(**values)


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mqtt", dest="mqtt_url", help="broker URL, mqtt://host:port (SHEWU_MQTT_URL)")
    parser.add_argument("--db", dest="db_url", help=f"database URL (SHEWU_DB_URL; default {DEFAULT_DB_URL})")
    parser.add_argument("--host", help="HTTP bind address (SHEWU_HTTP_HOST; default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="HTTP port (SHEWU_HTTP_PORT; default 8080)")
    parser.add_argument("--z2m-base", dest="z2m_base", help="Zigbee2MQTT base topic (default zigbee2mqtt)")
    parser.add_argument("--rtl433-base", dest="rtl433_base",
                        help="rtl_433 MQTT base topic (SHEWU_RTL433_BASE; default rtl_433; '' turns it off)")
    parser.add_argument("--instance-id", dest="instance_id", help="MQTT client id, stable across restarts")
    parser.add_argument("--shared-group", dest="shared_group",
                        help="share one subscription among instances ($share/<group>/...)")
    parser.add_argument("--mqtt-protocol", dest="mqtt_protocol", type=int, choices=(4, 5),
                        help="MQTT protocol: 5 (default) or 4 for 3.1.1")
    parser.add_argument("--ingest-worker", dest="ingest_worker", choices=("process", "thread"),
                        help="decode and store in a worker process (default) or a thread (SHEWU_INGEST_WORKER)")
    parser.add_argument("--time-zone", dest="time_zone",
                        help="the community's time zone for rota and reports (SHEWU_TIME_ZONE; default Asia/Shanghai)")
    parser.add_argument("--influx-url", dest="influx_url",
                        help="InfluxDB 2 URL for telemetry, e.g. http://influxdb:8086 (SHEWU_INFLUX_URL; default off;"
                             " the token only from SHEWU_INFLUX_TOKEN)")
    parser.add_argument("--influx-org", dest="influx_org", help="InfluxDB organisation (SHEWU_INFLUX_ORG)")
    parser.add_argument("--influx-bucket", dest="influx_bucket", help="InfluxDB bucket (SHEWU_INFLUX_BUCKET)")
    parser.add_argument("--public-url", dest="public_url",
                        help="the gateway's address as people reach it, for links in notifications (SHEWU_PUBLIC_URL)")
    defaults = Settings.__dataclass_fields__  # type: ignore[attr-defined]
    for name, what in RETENTION_HELP.items():
        dest = f"retain_{name}_days"
        parser.add_argument(f"--retain-{name.replace('_', '-')}-days", dest=dest, type=_days, metavar="DAYS",
                            help=f"keep {what} this many days; 0: for ever ({_ENV[dest][0]}; "
                                 f"default {defaults[dest].default})")


def _days(text: str) -> int:
    days = int(text)
    if days < 0:
        raise argparse.ArgumentTypeError("days cannot be negative (0 keeps for ever)")
    return days


def from_args(args: argparse.Namespace) -> Settings:
    return from_env().with_overrides(
        **{f.name: getattr(args, f.name, None) for f in fields(Settings)}
    )
