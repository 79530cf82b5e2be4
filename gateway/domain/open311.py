"""Open311 GeoReport v2 as data: our request categories as services, our order states as
``open`` / ``closed`` with notes in words, and the shapes of the answers. Pure: no I/O.

- **Services** are ``gateway.domain.requests.CATEGORIES``: ``service_code`` is the category's
  ``open311`` code, ``service_name`` and ``description`` are bilingual ("中文 / English"),
  ``metadata`` is false (no extra attributes: a service definition has an empty ``attributes``
  list), ``type`` is ``realtime`` (a filing gets its order, or the open one it repeats, at once),
  ``keywords`` a comma-separated list and ``group`` the team that answers (``property`` or
  ``community``).
- **States**: ``resolved``, ``closed``, ``cancelled`` and ``missed`` are ``closed``; every other
  state is ``open``. ``status_notes`` always says which of our states it is, in words (zh / en),
  with the cancel reason, the third party waited for, or the rating given.
- **Service requests** are filings (``service_requests`` rows): ``service_request_id`` is the
  filing's id. A repeat of an open request is its own filing, joined to the open order; its status
  is that order's.
- **Errors** are a list of ``{"code": <HTTP status>, "description": ...}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from gateway.domain.requests import CATEGORIES, RequestCategory

SERVICE_TYPE = "realtime"
OPEN, CLOSED = "open", "closed"
CLOSED_STATUSES = frozenset({"resolved", "closed", "cancelled", "missed"})
MAX_RESULTS = 1000  # GeoReport v2: at most 1000 requests an answer
DEFAULT_WINDOW_DAYS = 90  # ... and, without dates, the last 90 days; a range may not span more

# The fields of a service (GET services.json) and a service request (GET requests.json), in the
# order GeoReport v2 lists them.
SERVICE_FIELDS = ("service_code", "service_name", "description", "metadata", "type", "keywords", "group")
REQUEST_FIELDS = (
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
)

TEAMS: dict[str, tuple[str, str]] = {
    "property": ("物业服务中心", "Property management"),
    "community": ("社区居委会", "Community office"),
}

# Our order states in words (zh, en), as a resident following a request reads them.
STATUS_WORDS: dict[str, tuple[str, str]] = {
    "open": ("待确认", "Open, not yet acknowledged"),
    "acknowledged": ("已确认，正在安排", "Acknowledged, being arranged"),
    "new": ("已受理，待派单", "Received, waiting to be dispatched"),
    "dispatched": ("已派单，待师傅接单", "Dispatched, waiting for the technician to accept"),
    "accepted": ("师傅已接单", "Accepted by the technician"),
    "en_route": ("师傅已出发", "The technician is on the way"),
    "on_site": ("师傅已到场", "The technician is on site"),
    "third_party": ("等待第三方处理", "Waiting for a third party"),
    "resolved": ("已处理，待居民确认", "Resolved, awaiting the resident's confirmation"),
    "closed": ("已完成", "Done"),
    "cancelled": ("已取消", "Cancelled"),
    "missed": ("未完成", "Missed"),
}


def words(status: str) -> tuple[str, str]:
    return STATUS_WORDS.get(status, (status, status))


def bilingual(zh: str, en: str) -> str:
    return f"{zh} / {en}"


# --- services ---------------------------------------------------------------------------------


def service_code_map() -> dict[str, RequestCategory]:
    return {c.open311: c for c in CATEGORIES.values()}


def category_for(service_code: str) -> RequestCategory | None:
    return service_code_map().get(service_code.strip())


def _hours(h: float) -> str:
    return f"{h:g}"


def service_description(c: RequestCategory) -> str:
    t = c.targets
    team_zh, team_en = TEAMS.get(c.team, (c.team, c.team))
    zh_unit = "个工作小时" if t.working_hours else "小时"
    en_unit = "working hours" if t.working_hours else "hours"
    zh = (f"{c.zh}：由{team_zh}受理，{_hours(t.onsite_hours)}{zh_unit}内上门，"
          f"{_hours(t.resolve_hours)}{zh_unit}内处理完成")
    en = (f"{c.en}: handled by the {team_en.lower()}, on site within {_hours(t.onsite_hours)} {en_unit}, "
          f"resolved within {_hours(t.resolve_hours)} {en_unit}")
    return bilingual(zh, en)


def service_json(c: RequestCategory) -> dict[str, Any]:
    keywords = [c.code, c.team, *([c.skill.value] if c.skill else []), *c.zh.replace("·", " ").split()]
    return {
        "service_code": c.open311,
        "service_name": bilingual(c.zh, c.en),
        "description": service_description(c),
        "metadata": False,
        "type": SERVICE_TYPE,
        "keywords": ",".join(dict.fromkeys(k for k in keywords if k)),
        "group": c.team,
    }


def services() -> list[dict[str, Any]]:
    return [service_json(c) for c in sorted(CATEGORIES.values(), key=lambda c: c.open311)]


def service_definition(c: RequestCategory) -> dict[str, Any]:
    """GET services/{code}.json: no extra attributes (``metadata`` is false)."""
    return {"service_code": c.open311, "attributes": []}


# --- states -----------------------------------------------------------------------------------


def open_or_closed(status: str) -> str:
    return CLOSED if status in CLOSED_STATUSES else OPEN


@dataclass(frozen=True, slots=True)
class RequestView:
    """What a service request's answer is made of: the filing, its order, and what the filer sent
    through Open311 (``lat``, ``long``, ``media_url``), if anything."""

    service_request_id: int
    category: str  # ours, e.g. repair_plumbing
    description: str
    answer: str  # what the filer was told (service_notice)
    filed_at: datetime
    order_id: int
    linked: bool
    status: str  # the order's
    home_id: str | None
    address: str
    updated_at: datetime | None
    expected_at: datetime | None
    cancel_reason: str | None = None
    third_party: str | None = None  # the party waited for, while status is third_party
    rating: int | None = None
    closed_unconfirmed: bool = False  # closed after 72 h without the resident's confirmation
    lat: float | None = None
    long: float | None = None
    media_url: str | None = None


def status_notes(v: RequestView) -> str:
    zh, en = words(v.status)
    if v.status == "cancelled" and v.cancel_reason:
        zh, en = f"{zh}：{v.cancel_reason}", f"{en}: {v.cancel_reason}"
    elif v.status == "third_party" and v.third_party:
        zh, en = f"{zh}：{v.third_party}", f"{en}: {v.third_party}"
    elif v.status == "closed" and v.rating is not None:
        zh, en = f"已完成，居民已确认，评分 {v.rating}/5", f"Done, confirmed by the resident, rated {v.rating}/5"
    elif v.status == "closed" and v.closed_unconfirmed:
        zh, en = "已完成（72小时未确认，自动结单）", "Done (closed after 72 hours without confirmation)"
    zh, en = f"工单 #{v.order_id}：{zh}", f"Order #{v.order_id}: {en}"
    if v.linked:
        zh, en = f"{zh}（本次请求已并入该工单）", f"{en} (this request was joined to it)"
    return bilingual(zh, en)


def request_json(v: RequestView, iso: Any) -> dict[str, Any]:
    """One GeoReport v2 service request; ``iso`` formats a datetime (or None) as ISO 8601."""
    c = CATEGORIES.get(v.category)
    team_zh, team_en = TEAMS.get(c.team, (c.team, c.team)) if c else ("", "")
    return {
        "service_request_id": str(v.service_request_id),
        "status": open_or_closed(v.status),
        "status_notes": status_notes(v),
        "service_name": bilingual(c.zh, c.en) if c else v.category,
        "service_code": c.open311 if c else None,
        "description": v.description,
        "agency_responsible": bilingual(team_zh, team_en) if c else None,
        "service_notice": v.answer or None,
        "requested_datetime": iso(v.filed_at),
        "updated_datetime": iso(v.updated_at),
        "expected_datetime": iso(v.expected_at) if open_or_closed(v.status) == OPEN else None,
        "address": v.address or None,
        "address_id": v.home_id,
        "zipcode": None,
        "lat": v.lat,
        "long": v.long,
        "media_url": v.media_url,
    }


def last_change(times: Iterable[datetime | None]) -> datetime | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None


# --- parameters and errors --------------------------------------------------------------------


class Open311Error(ValueError):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def errors(code: int, description: str) -> list[dict[str, Any]]:
    return [{"code": code, "description": description}]


def comma_list(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split(",") if p.strip()]


def parse_datetime(name: str, value: str, tz: tzinfo) -> datetime:
    """ISO 8601 / W3C: ``2026-11-30T09:00:00+08:00``, ``...Z``, or without an offset (the
    community's time zone), or a date alone (its start)."""
    text = value.strip()
    try:
        dt = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text)
    except ValueError as exc:
        raise Open311Error(400, f"{name}: an ISO 8601 date and time, e.g. 2026-11-30T09:00:00+08:00") from exc
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=tz)


def parse_coordinate(name: str, value: str | None, limit: float) -> float | None:
    if value is None or not str(value).strip():
        return None
    try:
        x = float(value)
    except ValueError as exc:
        raise Open311Error(400, f"{name}: a decimal number (WGS84)") from exc
    if not -limit <= x <= limit:
        raise Open311Error(400, f"{name}: between {-limit:g} and {limit:g}")
    return x
