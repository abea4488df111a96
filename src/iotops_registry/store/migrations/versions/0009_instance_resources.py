"""Dataflow profiles, dataflow graphs and Akri connector templates (one table, by kind).

Revision ID: 0009
Revises: 0008 (migrations run in merge order: 0006, 0011, 0008, 0009)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instance_resources",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "instance_pk",
            sa.Integer,
            sa.ForeignKey(
                "instances.pk", ondelete="CASCADE", name="fk_instance_resources_instance"
            ),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("parent", sa.String(63), nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("endpoint_refs", sa.Text, nullable=False),
        sa.Column("resolution", sa.Text, nullable=True),
        sa.UniqueConstraint(
            "instance_pk", "kind", "parent", "name", name="uq_instance_resources_name"
        ),
    )


def downgrade() -> None:
    op.drop_table("instance_resources")
