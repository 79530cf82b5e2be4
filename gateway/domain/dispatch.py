"""Who to send: skills needed per order kind, and the ranking of candidates, as data and pure code.

A candidate must have the skill and not be off duty. Among those: available before busy, then
the fewest active orders, then the nearest (same building, then same grid, then elsewhere),
then the name, so the choice is stable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Skill(StrEnum):
    PLUMBING = "plumbing"
    ELECTRICAL = "electrical"
    APPLIANCES = "appliances"
    LOCKS = "locks"
    ELDERLY_CARE = "elderly_care"
    DEVICES = "devices"  # sensors and alarm equipment


@dataclass(frozen=True, slots=True)
class DispatchRule:
    skill: Skill
    auto: bool = False  # dispatch the best candidate without waiting for a person


# Per order kind. ``auto`` here is the default; admins switch it per kind (stored in the database).
RULES: dict[str, DispatchRule] = {
    "sos": DispatchRule(Skill.ELDERLY_CARE),
    "fall": DispatchRule(Skill.ELDERLY_CARE),
    # Fire, gas, CO, intrusion and alarm panels' alarms: someone goes to the resident first.
    "fire": DispatchRule(Skill.ELDERLY_CARE),
    "gas": DispatchRule(Skill.ELDERLY_CARE),
    "co": DispatchRule(Skill.ELDERLY_CARE),
    "intrusion": DispatchRule(Skill.ELDERLY_CARE),
    "alarm": DispatchRule(Skill.ELDERLY_CARE),
    "unknown_alarm": DispatchRule(Skill.ELDERLY_CARE),
    "trouble": DispatchRule(Skill.DEVICES),
    "leak": DispatchRule(Skill.PLUMBING),
    "battery_low": DispatchRule(Skill.DEVICES),
    "tamper": DispatchRule(Skill.DEVICES),
    "offline": DispatchRule(Skill.DEVICES),
    "power_lost": DispatchRule(Skill.ELECTRICAL),
    "wellbeing": DispatchRule(Skill.ELDERLY_CARE),
}


class Availability(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    OFF_DUTY = "off_duty"


@dataclass(frozen=True, slots=True)
class Candidate:
    name: str
    skills: frozenset[str]
    status: str
    grid: str = ""
    building: str = ""
    load: int = 0  # active orders assigned


@dataclass(frozen=True, slots=True)
class Proposal:
    name: str
    load: int
    status: str
    nearness: str  # building | grid | elsewhere
    score: tuple[int, int, int, str]


def nearness(candidate: Candidate, *, grid: str, address: str) -> str:
    if candidate.building and address.startswith(candidate.building):
        return "building"
    if candidate.grid and candidate.grid == grid:
        return "grid"
    return "elsewhere"


_NEAR_RANK = {"building": 0, "grid": 1, "elsewhere": 2}


def propose(candidates: Iterable[Candidate], *, skill: str, grid: str, address: str,
            exclude: Iterable[str] = ()) -> list[Proposal]:
    """Candidates who can do the job, best first. ``exclude``: e.g. those who rejected it."""
    skip = set(exclude)
    out: list[Proposal] = []
    for c in candidates:
        if c.name in skip or skill not in c.skills or c.status == Availability.OFF_DUTY:
            continue
        near = nearness(c, grid=grid, address=address)
        score = (0 if c.status == Availability.AVAILABLE else 1, c.load, _NEAR_RANK[near], c.name)
        out.append(Proposal(name=c.name, load=c.load, status=c.status, nearness=near, score=score))
    return sorted(out, key=lambda p: p.score)
