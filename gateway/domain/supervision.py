"""Device supervision as data and pure rules: how often each kind of device reports, how long
its silence is tolerated, when lasting power loss becomes a ticket.

Zigbee2MQTT's own availability defaults are the model: mains-powered ("active") devices are
expected every 10 minutes, battery ("passive") devices every 25 hours. A device is missed when
nothing at all has been heard from it by ``last seen + interval + grace``.

Mains power loss is reported only after a delay with a per-device jitter, as telecare home
units do, so that a power cut across a building does not flood the board: most outages are
over before the delay, and those that last are reported spread out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Profile:
    interval: timedelta  # expected reporting interval
    grace: timedelta  # silence tolerated beyond it
    mains: bool  # mains-powered (reports power loss) or battery


MAINS = Profile(interval=timedelta(minutes=10), grace=timedelta(minutes=5), mains=True)
BATTERY = Profile(interval=timedelta(hours=25), grace=timedelta(hours=1), mains=False)

# By the device's kind in the registry; a model may override (MODEL_PROFILES).
KIND_PROFILES: dict[str, Profile] = {
    "sos": BATTERY,
    "leak": BATTERY,
    "motion": BATTERY,
    "door": BATTERY,
    "fall": MAINS,  # radar fall sensors are mains-powered
    "presence": MAINS,
    "hub": MAINS,  # a telecare home unit or alarm panel
    "panel": MAINS,
}
MODEL_PROFILES: dict[str, Profile] = {
    "TS0601_fall": MAINS,
    "ZG-204ZM": BATTERY,  # battery presence sensor
    # Shewu's own home unit firmware heartbeats every minute on the native topic.
    "shewu-hub": Profile(interval=timedelta(seconds=60), grace=timedelta(seconds=30), mains=True),
}
DEFAULT = BATTERY

POWER_DELAY = timedelta(minutes=10)
POWER_JITTER = timedelta(minutes=5)


def profile_for(kind: str | None, model: str | None) -> Profile:
    return MODEL_PROFILES.get(model or "") or KIND_PROFILES.get(kind or "", DEFAULT)


def deadline(last_seen: datetime, profile: Profile) -> datetime:
    return last_seen + profile.interval + profile.grace


def jitter(device_id: str, since: datetime, spread: timedelta = POWER_JITTER) -> timedelta:
    """A delay in [0, spread) that looks random but is fixed for a device and an outage, so
    that every gateway instance (and a restarted one) computes the same due time."""
    digest = hashlib.sha256(f"{device_id}|{since.isoformat()}".encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    return timedelta(seconds=spread.total_seconds() * fraction)


def power_alarm_at(device_id: str, lost_at: datetime) -> datetime:
    """When a ticket opens for mains power lost at ``lost_at``, unless power returns first."""
    return lost_at + POWER_DELAY + jitter(device_id, lost_at)
