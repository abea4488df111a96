"""Managed identities (IMDS stand-in) and the development registry's authorization data.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "managed_identities",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name_key", sa.String(128), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("principal_id", sa.String(36), nullable=False),
        sa.Column("resource_id", sa.String(1024), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("name_key", name="uq_managed_identities_name_key"),
        sa.UniqueConstraint("client_id", name="uq_managed_identities_client_id"),
    )
    op.create_table(
        "devregistry_role_assignments",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("assignee", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("assignee", "role", name="uq_devregistry_roles_assignee_role"),
    )
    op.create_table(
        "devregistry_tokens",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("name", name="uq_devregistry_tokens_name"),
    )
    op.create_table(
        "devregistry_settings",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(255), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("devregistry_settings")
    op.drop_table("devregistry_tokens")
    op.drop_table("devregistry_role_assignments")
    op.drop_table("managed_identities")
