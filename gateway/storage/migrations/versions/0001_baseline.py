"""Baseline: the schema of release 0.1.0, the last one made by ``create_all`` without migrations.

Revision ID: 0001
Revises:
Create Date: 2026-05-01

The tables are frozen here as they were (plain SQLAlchemy types: a later change to the models
must not change what this revision creates). On an empty database it creates them. On a
database made by an earlier release (tables, no ``alembic_version``) it creates the tables that
are missing, adds the nullable columns and the indexes that are missing (the ones
docs/operations.md once listed as manual ``ALTER TABLE`` steps), and keeps every row.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

log = logging.getLogger("shewu.migrations")


def baseline_metadata() -> sa.MetaData:
    """Today's tables, frozen."""
    meta = sa.MetaData()
    sa.Table(
        "api_tokens", meta,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("user", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("token_hash"),
        sa.Index("ix_api_tokens_user", "user"),
    )
    sa.Table(
        "care_plans", meta,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("home_id", sa.String(length=64), nullable=False),
        sa.Column("resident", sa.String(length=128), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("updated_by", sa.String(length=128), nullable=True),
        sa.Index("ix_care_plans_home_id", "home_id", unique=True),
        sa.Index("ix_care_plans_resident_id", "resident_id"),
    )
    sa.Table(
        "dead_letters", meta,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("topic", sa.String(length=1024), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(length=1000), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("payload_size", sa.Integer(), nullable=False),
        sa.Index("ix_dead_letters_reason", "reason"),
        sa.Index("ix_dead_letters_received_at", "received_at"),
    )
    sa.Table(
        "device_history", meta,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("battery", sa.Float(), nullable=True),
        sa.Column("linkquality", sa.Float(), nullable=True),
        sa.Column("availability", sa.String(length=16), nullable=True),
        sa.Index("ix_device_history_at", "at"),
        sa.Index("ix_device_history_device_id", "device_id"),
    )
    sa.Table(
        "device_status", meta,
        sa.Column("device_id", sa.String(length=128), primary_key=True),
        sa.Column("last_seen", sa.DateTime(), nullable=True),
        sa.Column("last_kind", sa.String(length=32), nullable=False),
        sa.Column("availability", sa.String(length=16), nullable=True),
        sa.Column("battery", sa.Float(), nullable=True),
        sa.Column("linkquality", sa.Float(), nullable=True),
        sa.Column("power", sa.String(length=8), nullable=True),
        sa.Column("power_changed_at", sa.DateTime(), nullable=True),
        sa.Column("last_activity_at", sa.DateTime(), nullable=True),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Index("ix_device_status_availability", "availability"),
    )
    sa.Table(
        "device_supervision", meta,
        sa.Column("device_id", sa.String(length=128), primary_key=True),
        sa.Column("deadline_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("offline_since", sa.DateTime(), nullable=True),
        sa.Column("offline_reason", sa.String(length=32), nullable=True),
        sa.Column("power_alarm_at", sa.DateTime(), nullable=True),
        sa.Column("power_alarmed_at", sa.DateTime(), nullable=True),
        sa.Column("sampled_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Index("ix_device_supervision_deadline_at", "deadline_at"),
        sa.Index("ix_device_supervision_state", "state"),
    )
    sa.Table(
        "devices", meta,
        sa.Column("device_id", sa.String(length=128), primary_key=True),
        sa.Column("home_id", sa.String(length=64), nullable=True),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("resident", sa.String(length=128), nullable=False),
        sa.Column("address", sa.String(length=256), nullable=False),
        sa.Column("grid", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Index("ix_devices_home_id", "home_id"),
    )
    sa.Table(
        "dispatch_settings", meta,
        sa.Column("kind", sa.String(length=32), primary_key=True),
        sa.Column("skill", sa.String(length=32), nullable=False),
        sa.Column("auto", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("updated_by", sa.String(length=128), nullable=True),
    )
    sa.Table(
        "grids", meta,
        sa.Column("grid", sa.String(length=64), primary_key=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("workers", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("updated_by", sa.String(length=128), nullable=True),
    )
    sa.Table(
        "home_watch", meta,
        sa.Column("home_id", sa.String(length=64), primary_key=True),
        sa.Column("alarm_for", sa.DateTime(), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
    )
    sa.Table(
        "homes", meta,
        sa.Column("home_id", sa.String(length=64), primary_key=True),
        sa.Column("address", sa.String(length=256), nullable=False),
        sa.Column("building", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("room", sa.String(length=32), nullable=False),
        sa.Column("grid", sa.String(length=64), nullable=False),
        sa.Column("resident", sa.String(length=128), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("inactivity_hours", sa.Float(), nullable=True),
        sa.Column("window_start", sa.String(length=5), nullable=False),
        sa.Column("window_end", sa.String(length=5), nullable=False),
        sa.Column("away", sa.Boolean(), nullable=False),
        sa.Column("away_note", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Index("ix_homes_grid", "grid"),
    )
    sa.Table(
        "notifications", meta,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Index("ix_notifications_channel", "channel"),
        sa.Index("ix_notifications_due", "status", "next_attempt_at"),
        sa.Index("ix_notifications_order_id", "order_id"),
    )
    sa.Table(
        "notify_channels", meta,
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("secret", sa.String(length=256), nullable=True),
        sa.Column("audiences", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
    )
    sa.Table(
        "orders", meta,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=4), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("home_id", sa.String(length=64), nullable=True),
        sa.Column("unregistered", sa.Boolean(), nullable=False),
        sa.Column("resident", sa.String(length=128), nullable=False),
        sa.Column("address", sa.String(length=256), nullable=False),
        sa.Column("grid", sa.String(length=64), nullable=False),
        sa.Column("assignee", sa.String(length=128), nullable=True),
        sa.Column("open_key", sa.String(length=200), nullable=True),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("ack_due_at", sa.DateTime(), nullable=True),
        sa.Column("onsite_due_at", sa.DateTime(), nullable=False),
        sa.Column("at_risk_at", sa.DateTime(), nullable=False),
        sa.Column("resolve_due_at", sa.DateTime(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("dispatched_at", sa.DateTime(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.Column("departed_at", sa.DateTime(), nullable=True),
        sa.Column("arrived_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.Column("cancel_reason", sa.String(length=500), nullable=True),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("last_event_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("open_key"),
        sa.Index("ix_orders_device_id", "device_id"),
        sa.Index("ix_orders_home_id", "home_id"),
        sa.Index("ix_orders_kind", "kind"),
        sa.Index("ix_orders_opened_at", "opened_at"),
        sa.Index("ix_orders_status", "status"),
    )
    sa.Table(
        "residents", meta,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("home_id", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("lives_alone", sa.Boolean(), nullable=False),
        sa.Column("age_band", sa.String(length=16), nullable=False),
        sa.Column("contacts", sa.JSON(), nullable=False),
        sa.Column("medical_notes", sa.Text(), nullable=False, server_default=''),
        sa.Column("user", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("updated_by", sa.String(length=128), nullable=True),
        sa.UniqueConstraint("user"),
        sa.Index("ix_residents_home_id", "home_id"),
    )
    sa.Table(
        "rota_overrides", meta,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("start_time", sa.String(length=5), nullable=False),
        sa.Column("end_time", sa.String(length=5), nullable=False),
        sa.Column("user_name", sa.String(length=64), nullable=True),
        sa.Column("duty", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.Index("ix_rota_overrides_day", "day"),
        sa.Index("ix_rota_overrides_user_name", "user_name"),
    )
    sa.Table(
        "rota_shifts", meta,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.String(length=5), nullable=False),
        sa.Column("end_time", sa.String(length=5), nullable=False),
        sa.Column("user_name", sa.String(length=64), nullable=False),
        sa.Column("duty", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.Index("ix_rota_shifts_user_name", "user_name"),
        sa.Index("ix_rota_shifts_weekday", "weekday"),
    )
    sa.Table(
        "seen_events", meta,
        sa.Column("event_id", sa.String(length=160), primary_key=True),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.Index("ix_seen_events_seen_at", "seen_at"),
    )
    sa.Table(
        "users", meta,
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=True),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("grid", sa.String(length=64), nullable=False),
        sa.Column("building", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("home_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Index("ix_users_role", "role"),
    )
    sa.Table(
        "care_items", meta,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("every", sa.String(length=8), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("due_time", sa.String(length=5), nullable=False),
        sa.Column("lead_days", sa.Integer(), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("next_due", sa.Date(), nullable=True),
        sa.Column("generate_at", sa.DateTime(), nullable=True),
        sa.Column("last_due", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("plan_id", "kind", name="uq_care_items_plan_kind"),
        sa.ForeignKeyConstraint(["plan_id"], ["care_plans.id"]),
        sa.Index("ix_care_items_generate_at", "generate_at"),
        sa.Index("ix_care_items_plan_id", "plan_id"),
    )
    sa.Table(
        "care_visits", meta,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("home_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["care_plans.id"]),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.UniqueConstraint("plan_id", "kind", "due_date", name="uq_care_visits_occurrence"),
        sa.Index("ix_care_visits_home_id", "home_id"),
        sa.Index("ix_care_visits_item_id", "item_id"),
        sa.Index("ix_care_visits_order_id", "order_id"),
        sa.Index("ix_care_visits_plan_id", "plan_id"),
    )
    sa.Table(
        "escalation_steps", meta,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("order_kind", sa.String(length=32), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("done_by", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.Index("ix_escalation_steps_due_at", "due_at"),
        sa.Index("ix_escalation_steps_order_id", "order_id"),
        sa.Index("ix_escalation_steps_status", "status"),
    )
    sa.Table(
        "order_timeline", meta,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.Index("ix_order_timeline_order_id", "order_id"),
    )
    sa.Table(
        "service_requests", meta,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("linked", sa.Boolean(), nullable=False),
        sa.Column("home_id", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("preferred_time", sa.String(length=64), nullable=False),
        sa.Column("photo", sa.String(length=128), nullable=True),
        sa.Column("filed_by", sa.String(length=128), nullable=False),
        sa.Column("on_behalf", sa.Boolean(), nullable=False),
        sa.Column("filed_at", sa.DateTime(), nullable=False),
        sa.Column("answer", sa.String(length=500), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_comment", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.Index("ix_service_requests_filed_at", "filed_at"),
        sa.Index("ix_service_requests_home_id", "home_id"),
        sa.Index("ix_service_requests_order_id", "order_id"),
    )


    return meta


def _fresh(column: sa.Column) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(column.name, column.type, nullable=column.nullable, server_default=column.server_default)


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    existing = set(inspector.get_table_names())
    for table in baseline_metadata().sorted_tables:
        if table.name not in existing:
            table.create(bind)  # with its indexes
            continue
        # made by an earlier release: add what it lacks
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in have:
                if not column.nullable and column.server_default is None:
                    raise RuntimeError(f"{table.name}.{column.name} is missing and cannot be added to rows "
                                       "that exist (NOT NULL without a default)")
                log.warning("adding the missing column %s.%s", table.name, column.name)
                op.add_column(table.name, _fresh(column))
        indexes = {i["name"] for i in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexes:
                log.warning("adding the missing index %s", index.name)
                index.create(bind)


def downgrade() -> None:
    for table in reversed(baseline_metadata().sorted_tables):
        op.drop_table(table.name)
