"""SQLAlchemy Core tables. Migrations in ``migrations/versions`` must match these."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = ["instances", "metadata", "registry_endpoints", "resource_groups"]

metadata = MetaData()

# Resource groups exist implicitly: the first resource put into one creates it.
resource_groups = Table(
    "resource_groups",
    metadata,
    Column("subscription_id", String(64), primary_key=True),
    Column("name_key", String(90), primary_key=True),
    Column("name", String(90), nullable=False),
    Column("created_at", String(40), nullable=False),
)

# ``document`` is the resource exactly as the API serves it (JSON text); the other columns
# exist to find, order and guard it.
instances = Table(
    "instances",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", String(64), nullable=False),
    Column("rg_key", String(90), nullable=False),
    Column("name", String(63), nullable=False),
    # Lower-cased custom location id: IoT Operations runs one instance per custom location.
    Column("custom_location", String(1024), nullable=False),
    Column("etag", String(64), nullable=False),
    Column("document", Text, nullable=False),
    UniqueConstraint("subscription_id", "rg_key", "name", name="uq_instances_scope_name"),
    UniqueConstraint("custom_location", name="uq_instances_custom_location"),
)

registry_endpoints = Table(
    "registry_endpoints",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column(
        "instance_pk",
        Integer,
        ForeignKey("instances.pk", ondelete="CASCADE", name="fk_registry_endpoints_instance"),
        nullable=False,
    ),
    Column("name", String(63), nullable=False),
    Column("etag", String(64), nullable=False),
    Column("document", Text, nullable=False),
    UniqueConstraint("instance_pk", "name", name="uq_registry_endpoints_instance_name"),
)

Index("ix_instances_rg", instances.c.subscription_id, instances.c.rg_key)
