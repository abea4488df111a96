"""Role assignments (Azure RBAC): principal, built-in role, scope.

Revision ID: 0007
Revises: 0009 (migrations run in merge order: 0006, 0011, 0008, 0009, 0007)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "role_assignments",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(36), nullable=False, unique=True),
        sa.Column("scope", sa.String(1024), nullable=False),
        sa.Column("scope_key", sa.String(1024), nullable=False),
        sa.Column("principal_id", sa.String(64), nullable=False, index=True),
        sa.Column("principal_type", sa.String(32), nullable=False),
        sa.Column("role_definition_id", sa.String(36), nullable=False),
        sa.Column("created_on", sa.String(40), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.UniqueConstraint(
            "scope_key", "principal_id", "role_definition_id", name="uq_role_assignments_grant"
        ),
    )


def downgrade() -> None:
    op.drop_table("role_assignments")
