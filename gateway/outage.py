"""Telling the on-call team that alarms cannot be stored, without the database.

While the database refuses ingest's writes, nothing is acknowledged and the broker holds every
alarm (DESIGN invariant 8); but nobody on the board sees those alarms either. So the people who
would have been told are told this instead, through the channels that need no database: the
notification channels and the on-call team as last read while the database worked (a snapshot
refreshed every minute), sent directly (no outbox), and a ``system`` message on every board.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import select

from gateway.clock import Clock, iso
from gateway.domain.ladders import Audience
from gateway.notify.messages import KINDS, Notice, takes
from gateway.notify.models import NotifyChannel
from gateway.notify.outbox import Outgoing
from gateway.notify.senders import SendError, Transports, deliver
from gateway.services.rota import on_call
from gateway.storage.db import session as open_session

log = logging.getLogger(__name__)

REFRESH_S = 60.0
# A database that fails for less than this (a restart, a lock) is not worth waking people for;
# the broker holds the alarms meanwhile and they are opened when it is back.
GRACE_S = 10.0


@dataclass
class _Snapshot:
    channels: list[NotifyChannel] = field(default_factory=list)
    team: tuple[str, ...] = ()


def outage_notice(*, down: bool, reason: str, since: datetime) -> Notice:
    if down:
        title = "告警无法入库 Alarms cannot be stored"
        text = (f"数据库不可用,自 {iso(since)} 起新的警报由消息代理暂存、尚未显示,请查看设备或电话回访。"
                f"\nThe database is unavailable since {iso(since)}: new alarms are held by the broker and not "
                f"shown on the board. Reason: {reason[:300]}")
    else:
        title = "告警入库已恢复 Alarms are stored again"
        text = (f"数据库已恢复,暂存的警报正在处理。\nThe database is back (down since {iso(since)}); "
                "held alarms are being opened now.")
    return Notice(kind="system", order_id=None, title=title, text=text,
                  audiences=(Audience.ONCALL_TEAM.value,), data={"database": "down" if down else "up"})


class OutageAlarm:
    def __init__(self, *, engine: Engine, clock: Clock, zone: ZoneInfo, transports: Transports,
                 send_live: Callable[[dict[str, Any]], None] | None = None, grace_s: float = GRACE_S,
                 refresh_s: float = REFRESH_S) -> None:
        self._engine = engine
        self._clock = clock
        self._zone = zone
        self._transports = transports
        self._send_live = send_live
        self._grace = grace_s
        self._refresh_s = refresh_s
        self._snapshot = _Snapshot()
        self._lock = threading.Lock()
        self._down_since: float | None = None  # time.monotonic() of the first failure of this outage
        self._down_at: datetime | None = None
        self._told = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._refresher, name="shewu-outage-snapshot", daemon=True)
        self.sent = 0

    def start(self) -> None:
        self.refresh()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def refresh(self) -> None:
        """Read the channels and the on-call team now; keep the old snapshot if the database fails."""
        try:
            with open_session(self._engine) as s:
                channels = [c for c in s.exec(select(NotifyChannel)) if c.enabled]
                team = on_call(s, now=self._clock(), tz=self._zone).team
        except Exception as exc:
            log.warning("outage snapshot not refreshed (%s); keeping the last one", exc)
            return
        with self._lock:
            self._snapshot = _Snapshot(channels, tuple(team))

    def _refresher(self) -> None:
        while not self._stop.wait(self._refresh_s):
            if self._down_since is None:
                self.refresh()

    def report(self, ok: bool, reason: str = "") -> None:
        """Ingest calls this after each attempt to store a batch."""
        now = time.monotonic()
        if not ok:
            if self._down_since is None:
                self._down_since, self._down_at = now, self._clock()
                self._live(down=True, reason=reason)
            if not self._told and now - self._down_since >= self._grace:
                self._told = True
                self._send(outage_notice(down=True, reason=reason, since=self._down_at or self._clock()))
            return
        if self._down_since is None:
            return
        since = self._down_at or self._clock()
        if self._told:
            self._send(outage_notice(down=False, reason="", since=since))
        self._down_since, self._down_at, self._told = None, None, False
        self._live(down=False, reason="")

    def _live(self, *, down: bool, reason: str) -> None:
        if self._send_live is not None:
            self._send_live({"type": "system", "now": iso(self._clock()), "database": "down" if down else "up",
                             "reason": reason[:300]})

    def outgoing(self, notice: Notice) -> list[Outgoing]:
        """What ``notice`` becomes on the snapshot's channels (the same bodies as the outbox's)."""
        with self._lock:
            snap = self._snapshot
        rows: list[Outgoing] = []
        for c in snap.channels:
            kind = KINDS.get(c.kind)
            if kind is None or not takes(c.audiences, notice.audiences):
                continue
            for recipient in (snap.team if kind.per_person else ("",)):
                rows.append(Outgoing(id=0, attempt=1, channel=c.name, kind=c.kind, url=c.url, secret=c.secret,
                                     enabled=True, recipient=recipient, payload=kind.build(notice, recipient),
                                     errors=(), reclaimed=False))
        return rows

    def _send(self, notice: Notice) -> None:
        rows = self.outgoing(notice)
        if not rows:
            log.critical("%s: no channel to tell anyone on (no snapshot of channels and rota)", notice.title)
            return

        def send_all() -> None:
            for row in rows:
                try:
                    deliver(self._transports, row, self._clock())
                    self.sent += 1
                except (SendError, Exception) as exc:  # one dead channel must not stop the others
                    log.error("outage notice on %s to %r not sent: %s", row.channel, row.recipient, exc)

        log.critical("%s: telling %d channel(s)", notice.title, len(rows))
        threading.Thread(target=send_all, name="shewu-outage-send", daemon=True).start()
