"""The three lists (需求清单、资源清单、服务清单) and the yearly summary, as JSON for the pages and
as CSV (UTF-8 with a BOM) and XLSX exports of the very same rows (``?format=csv|xlsx``).

What each list holds, and how the summary counts, is in ``gateway.services.lists``.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response
from sqlmodel import select

from gateway import xlsx
from gateway.api.deps import Allowed, NowDep, RuntimeDep, SessionDep, ZoneDep
from gateway.api.downloads import CSV_MEDIA_TYPE, csv_text
from gateway.api.routes.orders import scope
from gateway.api.schemas import lists as schemas
from gateway.api.schemas.base import ExactRoute
from gateway.clock import iso
from gateway.domain.reports import parse_period
from gateway.domain.roles import Perm
from gateway.services import lists
from gateway.services.accounts import Principal
from gateway.storage.people_models import Grid

router = APIRouter(prefix="/api/lists", tags=["lists"], route_class=ExactRoute)

OrdersReader = Annotated[Principal, Depends(Allowed(Perm.ORDERS_READ))]
UsersReader = Annotated[Principal, Depends(Allowed(Perm.USERS_READ))]
ReportsReader = Annotated[Principal, Depends(Allowed(Perm.REPORTS_READ))]

Format = Literal["json", "csv", "xlsx"]
Lang = Literal["zh", "en"]

FromQ = Annotated[str | None, Query(alias="from", max_length=40,
                                    description="YYYY-MM-DD (community time zone) or RFC 3339; default 30 days "
                                                "before 'to'")]
ToQ = Annotated[str | None, Query(max_length=40, description="exclusive; a date includes that whole day; "
                                                            "default now")]
Many = Annotated[list[str] | None, Query()]
FormatQ = Annotated[Format, Query(description="json (the page), csv or xlsx (the same rows)")]
LangQ = Annotated[Lang, Query(description="the language of the words in the rows and of the export's header")]
LimitQ = Annotated[int, Query(ge=1, le=lists.MAX_ROWS)]
# format=csv and format=xlsx answer the same rows as a file (the JSON schema is the response model)
EXPORTS: dict[int | str, dict[str, Any]] = {
    200: {"description": "JSON; with format=csv or format=xlsx the same rows as a file",
          "content": {CSV_MEDIA_TYPE.split(";")[0]: {"schema": {"type": "string"}},
                      xlsx.MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}},
}


def _period(from_: str | None, to: str | None, now: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    try:
        return parse_period(from_, to, now=now, tz=tz)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc


# --- answers ----------------------------------------------------------------------------------


def csv_bytes(table: lists.Table, lang: str) -> bytes:
    return csv_text(table.header(lang), table.matrix()).encode("utf-8")


def xlsx_bytes(table: lists.Table, lang: str) -> bytes:
    zh, en = lists.TITLES[table.name]
    return xlsx.workbook([xlsx.Sheet(en if lang == "en" else zh, table.header(lang), table.matrix())])


def table_json(table: lists.Table, lang: str) -> dict[str, Any]:
    zh, en = lists.TITLES[table.name]
    return {
        "list": table.name,
        "title": {"zh": zh, "en": en},
        "lang": lang,
        "columns": [{"key": c.key, "zh": c.zh, "en": c.en, "num": c.num, "decimals": c.decimals}
                    for c in table.columns],
        "rows": table.rows,
        "count": len(table.rows),
        "truncated": table.truncated,
    }


def answer(table: lists.Table, *, fmt: str, lang: str, stem: str, meta: dict[str, Any]) -> Any:
    if fmt == "csv":
        return Response(csv_bytes(table, lang), media_type=CSV_MEDIA_TYPE,
                        headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'})
    if fmt == "xlsx":
        return Response(xlsx_bytes(table, lang), media_type=xlsx.MEDIA_TYPE,
                        headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"'})
    return {**table_json(table, lang), **meta}


def _stem(name: str, start: datetime, end: datetime, tz: tzinfo) -> str:
    return f"shewu-{name}-{start.astimezone(tz):%Y%m%d}-{end.astimezone(tz):%Y%m%d}"


def _period_json(start: datetime, end: datetime, tz: Any) -> dict[str, Any]:
    return {"from": iso(start), "to": iso(end), "time_zone": getattr(tz, "key", str(tz))}


def _order_filters(principal: Principal, start: datetime, end: datetime, grid: list[str] | None,
                   status: list[str] | None, category: list[str] | None, kind: list[str] | None,
                   limit: int) -> lists.ListFilters:
    seen = scope(principal)  # technicians: their own; grid workers: their grid (403 without one)
    return lists.ListFilters(period_from=start, period_to=end, grids=tuple(grid or ()), statuses=tuple(status or ()),
                             categories=tuple(category or ()), kinds=tuple(kind or ()),
                             scope_grid=seen.get("grid"), scope_assignee=seen.get("assignee"), limit=limit)


def _filters_json(f: lists.ListFilters) -> dict[str, Any]:
    return {"grid": list(f.grids), "status": list(f.statuses), "category": list(f.categories),
            "kind": list(f.kinds), "scope": {k: v for k, v in (("grid", f.scope_grid), ("assignee", f.scope_assignee))
                                             if v is not None}}


# --- routes -----------------------------------------------------------------------------------


@router.get("/needs", response_model=schemas.OrderList, responses=EXPORTS)
def needs(session: SessionDep, now: NowDep, tz: ZoneDep, principal: OrdersReader, from_: FromQ = None,
          to: ToQ = None, grid: Many = None, status: Many = None,
          category: Annotated[list[str] | None, Query(description="emergency, repair, maintenance, wellbeing, "
                                                                  "request, care")] = None,
          kind: Annotated[list[str] | None, Query(description="sos, fall, leak, repair_plumbing, weekly_visit, ...")]
          = None,
          format: FormatQ = "json", lang: LangQ = "zh", limit: LimitQ = 10_000) -> Any:
    """需求清单: every order opened in the period, raised by a device or by a person. Office staff
    see all; grid workers their grid; technicians the orders assigned to them."""
    start, end = _period(from_, to, now, tz)
    f = _order_filters(principal, start, end, grid, status, category, kind, limit)
    table = lists.needs(session, f, tz=tz, lang=lang)
    return answer(table, fmt=format, lang=lang, stem=_stem("needs", start, end, tz),
                  meta={"period": _period_json(start, end, tz), "filters": _filters_json(f), "now": iso(now)})


@router.get("/services", response_model=schemas.OrderList, responses=EXPORTS)
def services(session: SessionDep, now: NowDep, tz: ZoneDep, principal: OrdersReader, from_: FromQ = None,
             to: ToQ = None, grid: Many = None,
             status: Annotated[list[str] | None, Query(description="resolved, closed")] = None,
             category: Many = None, kind: Many = None,
             format: FormatQ = "json", lang: LangQ = "zh", limit: LimitQ = 10_000) -> Any:
    """服务清单: the orders resolved in the period: what, where, by whom, how fast (the response
    report's times), on target or not, and the resident's rating. Scoped as the needs list."""
    start, end = _period(from_, to, now, tz)
    f = _order_filters(principal, start, end, grid, status, category, kind, limit)
    table = lists.services(session, f, now=now, tz=tz, lang=lang)
    return answer(table, fmt=format, lang=lang, stem=_stem("services", start, end, tz),
                  meta={"period": _period_json(start, end, tz), "filters": _filters_json(f), "now": iso(now)})


@router.get("/resources", response_model=schemas.ResourceList, responses=EXPORTS)
def resources(session: SessionDep, now: NowDep, tz: ZoneDep, principal: UsersReader, from_: FromQ = None,
              to: ToQ = None, grid: Many = None,
              status: Annotated[list[str] | None, Query(description="available, busy, off_duty")] = None,
              role: Annotated[list[str] | None, Query(description="admin, dispatcher, technician, grid_worker")]
              = None,
              skill: Many = None, team: Many = None, format: FormatQ = "json", lang: LangQ = "zh") -> Any:
    """资源清单: active staff with role, team, skills, availability, who is on duty now (the
    rota), active orders and orders resolved in the period (default: the last 30 days)."""
    start, end = _period(from_, to, now, tz)
    f = lists.ResourceFilters(period_from=start, period_to=end, grids=tuple(grid or ()), statuses=tuple(status or ()),
                              roles=tuple(role or ()), skills=tuple(skill or ()), teams=tuple(team or ()))
    table = lists.resources(session, f, now=now, tz=tz, lang=lang)
    filters = {"grid": list(f.grids), "status": list(f.statuses), "role": list(f.roles), "skill": list(f.skills),
               "team": list(f.teams)}
    return answer(table, fmt=format, lang=lang, stem=_stem("resources", start, end, tz),
                  meta={"period": _period_json(start, end, tz), "filters": filters, "now": iso(now)})


@router.get("/summary", response_model=schemas.YearSummary, responses=EXPORTS)
def summary(session: SessionDep, now: NowDep, tz: ZoneDep, runtime: RuntimeDep, principal: ReportsReader,
            year: Annotated[int | None, Query(ge=2000, le=2100, description="default: this year, community time")]
            = None,
            format: FormatQ = "json", lang: LangQ = "zh") -> Any:
    """The yearly summary (printable: summary.html): the community (one per gateway) and each
    grid: needs, requests, services and repairs done, ratings, % on target, emergencies on site
    within 15 minutes, care visits done and missed. ``definitions`` says how each is counted."""
    year = year or now.astimezone(tz).year
    grid_names = {g.grid: g.name for g in session.exec(select(Grid)).all()}
    community = str(getattr(runtime.settings, "community_name", "") or "")
    s = lists.summary(session, year=year, now=now, tz=tz, lang=lang, grid_names=grid_names, community=community)
    stem = f"shewu-summary-{year}"
    meta = {
        "year": year,
        "community": community,
        "period": _period_json(s.period_from, s.period_to, tz),
        "now": iso(now),
        "needs_by_category": s.by_category,
        "definitions": [{"key": k, "zh": zh, "en": en} for k, zh, en in lists.SUMMARY_DEFINITIONS],
    }
    return answer(s.table, fmt=format, lang=lang, stem=stem, meta=meta)
