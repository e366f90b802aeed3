"""The operations database: alarms, their audit (alarm_events), the notification outbox.

Revision ID: 0001
Revises:
Create Date: 2026-12-04

Written by hand and frozen (it does not import the ORM): the names of keys, constraints and
indexes are those `citysafety.act.store.NAMING` gives, spelt out (`op.f`: taken as they stand).
Works on SQLite and PostgreSQL; the downgrade drops the three tables.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ALARM_STATUSES = "('待签收', '已签收', '已到场', '已处置', '已归档')"
NOTIFICATION_STATUSES = "('pending', 'sending', 'sent', 'dead')"
CHANNELS = "('dingtalk', 'wecom', 'webhook')"


def instant(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alarm_key", sa.String(200), nullable=False),
        sa.Column("hazard_source_id", sa.String(64), nullable=True),
        sa.Column("point_id", sa.String(64), nullable=False),
        sa.Column("street_code", sa.String(16), nullable=True),
        sa.Column("grade", sa.String(16), nullable=True),
        sa.Column("status", sa.String(8), nullable=False),
        instant("started_at"),
        instant("ended_at", nullable=True),
        instant("created_at"),
        instant("updated_at"),
        instant("acknowledged_at", nullable=True),
        instant("arrived_at", nullable=True),
        instant("handled_at", nullable=True),
        instant("archived_at", nullable=True),
        sa.Column("handling_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarms")),
        sa.UniqueConstraint("alarm_key", name=op.f("uq_alarms_alarm_key")),
        sa.CheckConstraint(f"status in {ALARM_STATUSES}", name=op.f("ck_alarms_status")),
    )
    op.create_index(op.f("ix_alarms_street_code_status"), "alarms", ["street_code", "status"])
    op.create_index(op.f("ix_alarms_status_started_at"), "alarms", ["status", "started_at"])

    op.create_table(
        "alarm_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_status", sa.String(8), nullable=False),
        sa.Column("to_status", sa.String(8), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("actor_scope", sa.String(256), nullable=False),
        sa.Column("remote_addr", sa.String(64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        instant("at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_events")),
        sa.ForeignKeyConstraint(["alarm_id"], ["alarms.id"], name=op.f("fk_alarm_events_alarm_id_alarms"),
                                ondelete="RESTRICT"),
    )
    op.create_index(op.f("ix_alarm_events_alarm_id"), "alarm_events", ["alarm_id"])
    op.create_index(op.f("ix_alarm_events_at"), "alarm_events", ["at"])

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("endpoint", sa.String(128), nullable=False),
        sa.Column("payload", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        instant("next_attempt_at"),
        instant("claimed_until", nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        instant("sent_at", nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        instant("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_notifications_idempotency_key")),
        sa.ForeignKeyConstraint(["alarm_id"], ["alarms.id"], name=op.f("fk_notifications_alarm_id_alarms"),
                                ondelete="RESTRICT"),
        sa.CheckConstraint(f"status in {NOTIFICATION_STATUSES}", name=op.f("ck_notifications_status")),
        sa.CheckConstraint(f"channel in {CHANNELS}", name=op.f("ck_notifications_channel")),
    )
    op.create_index(op.f("ix_notifications_status_next_attempt_at"), "notifications", ["status", "next_attempt_at"])
    op.create_index(op.f("ix_notifications_alarm_id"), "notifications", ["alarm_id"])


def downgrade() -> None:
    op.drop_table("notifications")
    op.drop_table("alarm_events")
    op.drop_table("alarms")
