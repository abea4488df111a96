"""ConfigMaps per instance (non-secret configuration: code-signing CAs of endpoints).

Revision ID: 0011
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "config_maps",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "instance_pk",
            sa.Integer,
            sa.ForeignKey("instances.pk", ondelete="CASCADE", name="fk_config_maps_instance"),
            nullable=False,
        ),
        sa.Column("name", sa.String(253), nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.UniqueConstraint("instance_pk", "name", name="uq_config_maps_instance_name"),
    )


def downgrade() -> None:
    op.drop_table("config_maps")
