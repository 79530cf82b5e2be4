"""How long what is pruned is kept: pure rules, no I/O.

Orders, their timelines and residents' requests are the service record: no rule here touches
them. Seen event ids are kept at least as long as ingest's redelivery guarantee needs (longer than
the broker keeps an offline gateway's session), whatever the settings say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Retention:
    """Days to keep, by table; 0 (or less): for ever."""

    dead_letters: int = 30
    notifications: int = 90  # sent or failed
    escalation_steps: int = 30  # fired or void
    api_tokens: int = 30  # sessions and tokens, counted from their expiry or revocation
    device_history: int = 90


def cutoffs(retention: Retention, *, now: datetime, seen_events: timedelta) -> dict[str, datetime]:
    """Table → the time before which its finished rows go (tables kept for ever are absent)."""
    out = {name: now - timedelta(days=days) for name, days in (
        ("dead_letters", retention.dead_letters),
        ("notifications", retention.notifications),
        ("escalation_steps", retention.escalation_steps),
        ("api_tokens", retention.api_tokens),
        ("device_history", retention.device_history),
    ) if days > 0}
    out["seen_events"] = now - seen_events
    return out
