"""Endpoint health (state, message, transition time, last report) and connection settings.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("registry_endpoints") as batch:
        batch.add_column(sa.Column("health_message", sa.Text, nullable=True))
        batch.add_column(sa.Column("health_transition_at", sa.String(40), nullable=True))
        batch.add_column(sa.Column("health_checked_at", sa.String(40), nullable=True))
        batch.add_column(sa.Column("health_report", sa.Text, nullable=True))
        batch.add_column(sa.Column("connection_settings", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("registry_endpoints") as batch:
        for column in (
            "connection_settings",
            "health_report",
            "health_checked_at",
            "health_transition_at",
            "health_message",
        ):
            batch.drop_column(column)
