"""An order (工单) as ``gateway.views.order_json`` writes it: the one shape of an order, in the
API and in the live feed; with its timeline in the detail."""

from __future__ import annotations

from pydantic import Field

from gateway.api.schemas.base import JsonObject, Number, Out, Timestamp


class LadderStep(Out):
    step: str = Field(description="the escalation step's name")
    due_at: Timestamp
    audience: list[str] = Field(description="who is told")
    breach: bool = Field(description="missing this step is a breach of the target")


class Ladder(Out):
    current: LadderStep | None = Field(description="the last step reached, if any")
    next: LadderStep | None = Field(description="the step that fires next, if any")


class SlaClock(Out):
    now: Timestamp = Field(description="the gateway's clock when the answer was made")
    elapsed_s: Number
    ack_remaining_s: Number | None = Field(description="null: no acknowledgement target, or met")
    onsite_remaining_s: Number | None
    ack_overdue: bool
    at_risk: bool
    breached: bool


class Order(Out):
    id: int
    kind: str = Field(description="sos, fall, leak, repair_plumbing, weekly_visit, ...")
    category: str = Field(description="emergency, repair, maintenance, wellbeing, request, care")
    priority: str = Field(description="P1 (most urgent), P2 or P3")
    status: str = Field(description="open, acknowledged, new, dispatched, accepted, en_route, on_site, third_party, "
                                    "resolved, closed, cancelled, missed")
    device_id: str = Field(description="empty for orders no device raised")
    home_id: str | None
    unregistered: bool = Field(description="raised by a device that is not in the registry")
    resident: str
    address: str
    grid: str
    assignee: str | None
    cancel_reason: str | None
    event_count: int = Field(description="events counted on this order (repeats of its alarm)")
    opened_at: Timestamp
    ack_due_at: Timestamp | None
    onsite_due_at: Timestamp
    at_risk_at: Timestamp
    acknowledged_at: Timestamp | None
    dispatched_at: Timestamp | None
    accepted_at: Timestamp | None
    departed_at: Timestamp | None
    arrived_at: Timestamp | None
    resolved_at: Timestamp | None
    closed_at: Timestamp | None
    cancelled_at: Timestamp | None
    last_event_at: Timestamp | None
    resolve_due_at: Timestamp | None
    ladder: Ladder
    clock: SlaClock


class TimelineEntry(Out):
    at: Timestamp
    actor: str = Field(description="a user name, device:<id>, or shewu:<part> for the gateway itself")
    action: str
    note: str | None
    data: JsonObject | None = Field(description="what the action recorded; its keys depend on the action")


class OrderDetail(Order):
    timeline: list[TimelineEntry] = Field(description="oldest first")


class Proposal(Out):
    name: str
    status: str = Field(description="available, busy, off_duty")
    load: int = Field(description="active orders assigned")
    nearness: str = Field(description="building, grid or elsewhere")
