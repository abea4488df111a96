"""Container registries registered by an admin (the portal's registry picker).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "container_registries",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.String(64), nullable=False),
        sa.Column("rg_key", sa.String(90), nullable=False),
        sa.Column("name_key", sa.String(50), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.UniqueConstraint(
            "subscription_id", "rg_key", "name_key", name="uq_container_registries_name"
        ),
    )


def downgrade() -> None:
    op.drop_table("container_registries")
