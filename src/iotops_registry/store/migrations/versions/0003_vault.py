"""The embedded vault: meta (key check value), secrets and their sealed versions.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vault_meta",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(255), nullable=False),
    )
    op.create_table(
        "vault_secrets",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name_key", sa.String(127), nullable=False),
        sa.Column("name", sa.String(127), nullable=False),
        sa.Column("latest_version_pk", sa.Integer, nullable=True),
        sa.Column("deleted_at", sa.BigInteger, nullable=True),
        sa.Column("purge_at", sa.BigInteger, nullable=True),
        sa.UniqueConstraint("name_key", name="uq_vault_secrets_name_key"),
    )
    op.create_table(
        "vault_secret_versions",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "secret_pk",
            sa.Integer,
            sa.ForeignKey("vault_secrets.pk", ondelete="CASCADE", name="fk_vault_versions_secret"),
            nullable=False,
        ),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("updated", sa.BigInteger, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("not_before", sa.BigInteger, nullable=True),
        sa.Column("expires", sa.BigInteger, nullable=True),
        sa.Column("content_type", sa.String(255), nullable=True),
        sa.Column("tags", sa.Text, nullable=True),
        sa.Column("kek_id", sa.String(16), nullable=False),
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("secret_pk", "version", name="uq_vault_versions_secret_version"),
    )
    op.create_index("ix_vault_versions_secret_pk", "vault_secret_versions", ["secret_pk", "pk"])


def downgrade() -> None:
    op.drop_index("ix_vault_versions_secret_pk", table_name="vault_secret_versions")
    op.drop_table("vault_secret_versions")
    op.drop_table("vault_secrets")
    op.drop_table("vault_meta")
