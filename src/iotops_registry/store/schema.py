"""SQLAlchemy Core tables. Migrations in ``migrations/versions`` must match these."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "catalog_entries",
    "catalog_facets",
    "catalog_sync",
    "config_maps",
    "container_registries",
    "devregistry_role_assignments",
    "devregistry_settings",
    "devregistry_tokens",
    "instance_resources",
    "instances",
    "managed_identities",
    "metadata",
    "registry_endpoints",
    "resource_groups",
    "role_assignments",
    "synced_secrets",
    "vault_meta",
    "vault_secret_versions",
    "vault_secrets",
]

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
    # The synced secret an ArtifactPullSecret endpoint names, for "who uses this secret?".
    Column("secret_ref", String(253), nullable=True),
    # Health kept by the connection checks; the state itself is also in ``document``.
    Column("health_message", Text, nullable=True),
    Column("health_transition_at", String(40), nullable=True),
    Column("health_checked_at", String(40), nullable=True),
    Column("health_report", Text, nullable=True),
    # Our extension: CA bundle, plain HTTP (loopback only), extra realm hosts (JSON).
    Column("connection_settings", Text, nullable=True),
    UniqueConstraint("instance_pk", "name", name="uq_registry_endpoints_instance_name"),
)

# A synced secret maps Key Vault secrets to the keys of one Kubernetes secret.
synced_secrets = Table(
    "synced_secrets",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column(
        "instance_pk",
        Integer,
        ForeignKey("instances.pk", ondelete="CASCADE", name="fk_synced_secrets_instance"),
        nullable=False,
    ),
    Column("name", String(253), nullable=False),
    Column("etag", String(64), nullable=False),
    Column("document", Text, nullable=False),
    UniqueConstraint("instance_pk", "name", name="uq_synced_secrets_instance_name"),
)

# Non-secret configuration of an instance (our extension): code-signing CAs for endpoints.
config_maps = Table(
    "config_maps",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column(
        "instance_pk",
        Integer,
        ForeignKey("instances.pk", ondelete="CASCADE", name="fk_config_maps_instance"),
        nullable=False,
    ),
    Column("name", String(253), nullable=False),
    Column("etag", String(64), nullable=False),
    Column("document", Text, nullable=False),
    UniqueConstraint("instance_pk", "name", name="uq_config_maps_instance_name"),
)

Index("ix_instances_rg", instances.c.subscription_id, instances.c.rg_key)
Index(
    "ix_registry_endpoints_secret_ref",
    registry_endpoints.c.instance_pk,
    registry_endpoints.c.secret_ref,
)


# --- vault -------------------------------------------------------------------------------
# The embedded Key Vault-compatible secrets service (one vault per database). The store
# keeps only sealed values: ciphertext, its nonce and the wrapped data key. Times are unix
# seconds. Migration 0003 creates these tables.

vault_meta = Table(
    "vault_meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)

# One row per secret name; ``latest_version_pk`` points at its newest version.
vault_secrets = Table(
    "vault_secrets",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name_key", String(127), nullable=False),  # lower-cased: names ignore case
    Column("name", String(127), nullable=False),
    Column("latest_version_pk", Integer, nullable=True),
    Column("deleted_at", BigInteger, nullable=True),  # set while soft-deleted
    Column("purge_at", BigInteger, nullable=True),
    UniqueConstraint("name_key", name="uq_vault_secrets_name_key"),
)

vault_secret_versions = Table(
    "vault_secret_versions",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column(
        "secret_pk",
        Integer,
        ForeignKey("vault_secrets.pk", ondelete="CASCADE", name="fk_vault_versions_secret"),
        nullable=False,
    ),
    Column("version", String(32), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("not_before", BigInteger, nullable=True),
    Column("expires", BigInteger, nullable=True),
    Column("content_type", String(255), nullable=True),
    Column("tags", Text, nullable=True),  # JSON object
    Column("kek_id", String(16), nullable=False),
    Column("nonce", LargeBinary, nullable=False),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    UniqueConstraint("secret_pk", "version", name="uq_vault_versions_secret_version"),
)

Index("ix_vault_versions_secret_pk", vault_secret_versions.c.secret_pk, vault_secret_versions.c.pk)


# --- identity and devregistry (local stand-ins for Azure services) -----------------------
# Managed identities served by the IMDS-compatible endpoint, and the development registry's
# authorization data: role assignments, repository-scoped tokens (only a salted scrypt hash
# of each password) and registry-wide settings (anonymous pull). Migration 0004 creates them.

managed_identities = Table(
    "managed_identities",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # "system" | "user"
    Column("name_key", String(128), nullable=False),  # lower-cased; "(system)" for the system one
    Column("name", String(128), nullable=False),
    Column("client_id", String(36), nullable=False),
    Column("principal_id", String(36), nullable=False),
    Column("resource_id", String(1024), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("name_key", name="uq_managed_identities_name_key"),
    UniqueConstraint("client_id", name="uq_managed_identities_client_id"),
)

devregistry_role_assignments = Table(
    "devregistry_role_assignments",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("assignee", String(64), nullable=False),  # lower-cased client id (or object id)
    Column("role", String(32), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("assignee", "role", name="uq_devregistry_roles_assignee_role"),
)

devregistry_tokens = Table(
    "devregistry_tokens",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", String(50), nullable=False),  # also the username
    Column("password_hash", String(255), nullable=False),  # scrypt$n$r$p$salt$hash
    Column("scopes", Text, nullable=False),  # JSON [{"repository": pattern, "actions": [...]}]
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("name", name="uq_devregistry_tokens_name"),
)

devregistry_settings = Table(
    "devregistry_settings",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)

# Container registries an admin registered (``iotops acr register``): what the portal offers
# to pick from, shaped like Microsoft.ContainerRegistry/registries.
container_registries = Table(
    "container_registries",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", String(64), nullable=False),
    Column("rg_key", String(90), nullable=False),  # lower-cased
    Column("name_key", String(50), nullable=False),  # lower-cased
    Column("document", Text, nullable=False),  # the ARM document as served
    UniqueConstraint(
        "subscription_id", "rg_key", "name_key", name="uq_container_registries_name"
    ),
)

# The catalog (migration 0008): one row per tag seen in an endpoint's registry, its facets
# (operation types, modules, endpoint types, architectures, vendor, endpoint) for filters,
# and each endpoint's sync state. Free text: an FTS5 table ``catalog_fts`` on SQLite, a
# generated ``tsvector`` column with a GIN index on PostgreSQL (both made by the migration).
catalog_entries = Table(
    "catalog_entries",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column(
        "instance_pk",
        Integer,
        ForeignKey("instances.pk", ondelete="CASCADE", name="fk_catalog_entries_instance"),
        nullable=False,
    ),
    Column("endpoint", String(63), nullable=False),
    Column("repository", String(256), nullable=False),
    Column("tag", String(128), nullable=False),
    Column("digest", String(100), nullable=False),
    Column("kind", String(16), nullable=False),  # graph, module, connector, other
    Column("name", String(256), nullable=False),
    Column("version", String(128), nullable=False),
    Column("version_key", String(64), nullable=False),
    Column("runtime_key", String(64), nullable=True),
    Column("pushed_at", String(40), nullable=False),
    Column("is_latest", Boolean, nullable=False),
    Column("stripped", Boolean, nullable=False),
    Column("search_text", Text, nullable=False),
    Column("document", Text, nullable=False),
    UniqueConstraint("instance_pk", "endpoint", "repository", "tag", name="uq_catalog_entries_tag"),
    Index("ix_catalog_entries_kind_name", "instance_pk", "kind", "name"),
)

catalog_facets = Table(
    "catalog_facets",
    metadata,
    Column(
        "entry_pk",
        Integer,
        ForeignKey("catalog_entries.pk", ondelete="CASCADE", name="fk_catalog_facets_entry"),
        primary_key=True,
    ),
    Column("facet", String(32), primary_key=True),
    Column("value", String(256), primary_key=True),
    Index("ix_catalog_facets_value", "facet", "value", "entry_pk"),
)

catalog_sync = Table(
    "catalog_sync",
    metadata,
    Column(
        "instance_pk",
        Integer,
        ForeignKey("instances.pk", ondelete="CASCADE", name="fk_catalog_sync_instance"),
        primary_key=True,
    ),
    Column("endpoint", String(63), primary_key=True),
    Column("document", Text, nullable=False),  # the sync state, as the API serves it
)


# The resources that pull through registry endpoints, and the dataflow profiles that hold
# graphs: one table, one row per resource, told apart by ``kind`` (the ARM path segment:
# dataflowProfiles, dataflowGraphs, akriConnectorTemplates). ``parent`` is the profile's
# name for a graph and "" otherwise. ``endpoint_refs`` lists the registry endpoints the
# resource names (JSON), for "who uses this endpoint?"; ``resolution`` is what the resolver
# found (digests, per-reference results: JSON), our extension. Migration 0009 creates it.
instance_resources = Table(
    "instance_resources",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column(
        "instance_pk",
        Integer,
        ForeignKey("instances.pk", ondelete="CASCADE", name="fk_instance_resources_instance"),
        nullable=False,
    ),
    Column("kind", String(32), nullable=False),
    Column("parent", String(63), nullable=False),
    Column("name", String(63), nullable=False),
    Column("etag", String(64), nullable=False),
    Column("document", Text, nullable=False),
    Column("endpoint_refs", Text, nullable=False),
    Column("resolution", Text, nullable=True),
    UniqueConstraint(
        "instance_pk", "kind", "parent", "name", name="uq_instance_resources_name"
    ),
)


# Role assignments (Azure RBAC): who (principal object id) has which built-in role at which
# scope. ``scope`` is kept as given, ``scope_key`` lower-cased to find and compare it.
role_assignments = Table(
    "role_assignments",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", String(36), nullable=False, unique=True),  # a GUID, lower-cased
    Column("scope", String(1024), nullable=False),
    Column("scope_key", String(1024), nullable=False),
    Column("principal_id", String(64), nullable=False, index=True),  # lower-cased
    Column("principal_type", String(32), nullable=False),
    Column("role_definition_id", String(36), nullable=False),
    Column("created_on", String(40), nullable=False),
    Column("created_by", String(64), nullable=False),
    UniqueConstraint(
        "scope_key", "principal_id", "role_definition_id", name="uq_role_assignments_grant"
    ),
)
