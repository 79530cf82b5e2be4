"""Retry policy for notifications (pure): exponential backoff with a cap, and a last attempt.

With the defaults a failing message is tried 10 times over about half an hour
(5 s, 10 s, 20 s, … 320 s, then every 10 min): long enough to ride out a restart of a
webhook's server, short enough that an alarm notice is not delivered hours late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_s: float = 5.0
    cap_s: float = 600.0
    max_attempts: int = 10

    def delay(self, attempt: int) -> timedelta:
        """How long to wait after failed attempt ``attempt`` (1-based) before the next one."""
        exponent = min(max(attempt, 1) - 1, 32)  # bounded: no float overflow for silly inputs
        return timedelta(seconds=min(self.base_s * 2**exponent, self.cap_s))

    def gives_up(self, attempt: int) -> bool:
        """True when attempt ``attempt`` (1-based) was the last one allowed."""
        return attempt >= self.max_attempts


DEFAULT_POLICY = RetryPolicy()
