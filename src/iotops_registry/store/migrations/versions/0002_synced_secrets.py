"""Synced secrets per instance, and the secretRef of each endpoint for reverse lookups.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "synced_secrets",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "instance_pk",
            sa.Integer,
            sa.ForeignKey("instances.pk", ondelete="CASCADE", name="fk_synced_secrets_instance"),
            nullable=False,
        ),
        sa.Column("name", sa.String(253), nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.UniqueConstraint("instance_pk", "name", name="uq_synced_secrets_instance_name"),
    )
    with op.batch_alter_table("registry_endpoints") as batch:
        batch.add_column(sa.Column("secret_ref", sa.String(253), nullable=True))
    op.create_index(
        "ix_registry_endpoints_secret_ref", "registry_endpoints", ["instance_pk", "secret_ref"]
    )


def downgrade() -> None:
    op.drop_index("ix_registry_endpoints_secret_ref", table_name="registry_endpoints")
    with op.batch_alter_table("registry_endpoints") as batch:
        batch.drop_column("secret_ref")
    op.drop_table("synced_secrets")
