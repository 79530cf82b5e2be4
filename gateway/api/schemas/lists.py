"""The three lists and the yearly summary as JSON (``gateway.api.routes.lists``); the CSV and
XLSX exports hold the same rows. What each list holds is in ``gateway.services.lists``."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from gateway.api.schemas.base import Absent, Out, Timestamp, absent
from gateway.api.schemas.reports import Period


class Title(Out):
    zh: str
    en: str


class ListColumn(Out):
    key: str = Field(description="the row key of this column")
    zh: str
    en: str
    num: bool = Field(description="a number: right-aligned, a number cell in the XLSX")
    decimals: int | None = Field(description="how many decimals the page writes")


class ListTable(Out):
    list_: str = Field(alias="list", description="needs, services, resources or summary")
    title: Title
    lang: str = Field(description="the language of the words in the rows")
    columns: list[ListColumn]
    rows: list[dict[str, Any]] = Field(description="one object a row, keyed by the columns' keys (values in words "
                                                   "in the language asked for), plus ``codes``: the stable codes "
                                                   "behind the words")
    count: int
    truncated: bool = Field(description="more rows matched than the limit")
    period: Period
    now: Timestamp


class Scope(Out):
    grid: str | Absent = absent("a grid worker: their grid")
    assignee: str | Absent = absent("a technician: their own orders")


class OrderListFilters(Out):
    grid: list[str]
    status: list[str]
    category: list[str]
    kind: list[str]
    scope: Scope = Field(description="what the caller may see, whatever the filters say")


class OrderList(ListTable):
    """The needs (需求清单) and services (服务清单) lists."""

    filters: OrderListFilters


class ResourceFilters(Out):
    grid: list[str]
    status: list[str]
    role: list[str]
    skill: list[str]
    team: list[str]


class ResourceList(ListTable):
    """The resource list (资源清单)."""

    filters: ResourceFilters


class Definition(Out):
    key: str = Field(description="the column it defines")
    zh: str
    en: str


class YearSummary(ListTable):
    """The yearly summary: the community first, then each grid."""

    year: int
    community: str
    needs_by_category: dict[str, dict[str, int]] = Field(description="grid (\"\": the community) → category → needs")
    definitions: list[Definition] = Field(description="how each number is counted")

