"""Instances, registry endpoints and implicit resource groups.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resource_groups",
        sa.Column("subscription_id", sa.String(64), primary_key=True),
        sa.Column("name_key", sa.String(90), primary_key=True),
        sa.Column("name", sa.String(90), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "instances",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.String(64), nullable=False),
        sa.Column("rg_key", sa.String(90), nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("custom_location", sa.String(1024), nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.UniqueConstraint("subscription_id", "rg_key", "name", name="uq_instances_scope_name"),
        sa.UniqueConstraint("custom_location", name="uq_instances_custom_location"),
    )
    op.create_index("ix_instances_rg", "instances", ["subscription_id", "rg_key"])
    op.create_table(
        "registry_endpoints",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "instance_pk",
            sa.Integer,
            sa.ForeignKey(
                "instances.pk", ondelete="CASCADE", name="fk_registry_endpoints_instance"
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.UniqueConstraint("instance_pk", "name", name="uq_registry_endpoints_instance_name"),
    )


def downgrade() -> None:
    op.drop_table("registry_endpoints")
    op.drop_index("ix_instances_rg", table_name="instances")
    op.drop_table("instances")
    op.drop_table("resource_groups")
