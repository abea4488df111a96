"""The catalog: entries (one per tag), facets, sync state, and the free-text index (SQLite
FTS5 kept by triggers; PostgreSQL a generated tsvector with a GIN index).

Revision ID: 0008
Revises: 0011 (assigned 0006; main already has 0011 on 0006, so this follows it)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_entries",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("instance_pk", sa.Integer,
                  sa.ForeignKey("instances.pk", ondelete="CASCADE",
                                name="fk_catalog_entries_instance"), nullable=False),
        sa.Column("endpoint", sa.String(63), nullable=False),
        sa.Column("repository", sa.String(256), nullable=False),
        sa.Column("tag", sa.String(128), nullable=False),
        sa.Column("digest", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("version_key", sa.String(64), nullable=False),
        sa.Column("runtime_key", sa.String(64), nullable=True),
        sa.Column("pushed_at", sa.String(40), nullable=False),
        sa.Column("is_latest", sa.Boolean, nullable=False),
        sa.Column("stripped", sa.Boolean, nullable=False),
        sa.Column("search_text", sa.Text, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.UniqueConstraint("instance_pk", "endpoint", "repository", "tag",
                            name="uq_catalog_entries_tag"),
    )
    op.create_index("ix_catalog_entries_kind_name", "catalog_entries",
                    ["instance_pk", "kind", "name"])
    op.create_table(
        "catalog_facets",
        sa.Column("entry_pk", sa.Integer,
                  sa.ForeignKey("catalog_entries.pk", ondelete="CASCADE",
                                name="fk_catalog_facets_entry"), primary_key=True),
        sa.Column("facet", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(256), primary_key=True),
    )
    op.create_index("ix_catalog_facets_value", "catalog_facets", ["facet", "value", "entry_pk"])
    op.create_table(
        "catalog_sync",
        sa.Column("instance_pk", sa.Integer,
                  sa.ForeignKey("instances.pk", ondelete="CASCADE",
                                name="fk_catalog_sync_instance"), primary_key=True),
        sa.Column("endpoint", sa.String(63), primary_key=True),
        sa.Column("document", sa.Text, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE catalog_entries ADD COLUMN search tsvector "
                   "GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED")
        op.execute("CREATE INDEX ix_catalog_entries_search ON catalog_entries USING GIN (search)")
    else:
        op.execute("CREATE VIRTUAL TABLE catalog_fts USING fts5(search_text, "
                   "content='catalog_entries', content_rowid='pk')")
        op.execute("CREATE TRIGGER catalog_fts_insert AFTER INSERT ON catalog_entries BEGIN "
                   "INSERT INTO catalog_fts(rowid, search_text) VALUES (new.pk, new.search_text);"
                   " END")
        op.execute("CREATE TRIGGER catalog_fts_delete AFTER DELETE ON catalog_entries BEGIN "
                   "INSERT INTO catalog_fts(catalog_fts, rowid, search_text) "
                   "VALUES ('delete', old.pk, old.search_text); END")
        op.execute("CREATE TRIGGER catalog_fts_update AFTER UPDATE OF search_text ON "
                   "catalog_entries BEGIN "
                   "INSERT INTO catalog_fts(catalog_fts, rowid, search_text) "
                   "VALUES ('delete', old.pk, old.search_text); "
                   "INSERT INTO catalog_fts(rowid, search_text) VALUES (new.pk, new.search_text);"
                   " END")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS catalog_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS catalog_fts")
    op.drop_table("catalog_sync")
    op.drop_table("catalog_facets")
    op.drop_table("catalog_entries")
