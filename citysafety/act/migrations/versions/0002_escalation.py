"""Escalation of alarms not acknowledged in time: `alarms.escalation_level`, `alarms.escalated_at`.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05

Written by hand and frozen (it does not import the ORM). `escalation_level` is the step of the
escalation ladder the alarm has reached (0: not escalated; `citysafety.act.escalation`), NOT NULL
with the server default 0 so that the alarms already there read as not escalated; `escalated_at`
is the instant of the last escalation (NULL: never). Works on SQLite (ADD / DROP COLUMN, SQLite
3.35 or newer) and PostgreSQL.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("alarms", sa.Column("escalation_level", sa.Integer(), nullable=False, server_default=sa.text("0")))
    op.add_column("alarms", sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("alarms", "escalated_at")
    op.drop_column("alarms", "escalation_level")
