"""The ARM route table: every resource type of the resource provider, as rows.

Adding a resource is adding a row here (and its handlers and service). The router, the
404/405 answers, the RBAC action of each operation and ``/openapi.json`` are generated from
these rows; a test checks that every route is in the OpenAPI document.
"""

from __future__ import annotations

from ..domain import InstanceBody, InstancePatchBody, RegistryEndpointBody, rules
from ..domain.config_maps import ConfigMapBody
from ..domain.connection import ConnectionSettingsBody, ConnectionTestBody, VerifyArtifactBody
from ..domain.connectors import ConnectorTemplateBody
from ..domain.dataflow import DataflowGraphBody, DataflowProfileBody
from ..domain.secrets import KeyVaultSecretBody, SyncedSecretBody
from . import schemas as s
from .context import REGISTRY_API_VERSIONS, SUPPORTED_API_VERSIONS
from .handlers import catalog, config_maps, endpoints, instances, pulling, registries, secrets
from .table import Action, Handler, Operation, QueryParam, ResourceType, Route, compile_routes

__all__ = ["RESOURCE_TYPES", "ROUTES"]

_NAME = {"type": "string", "minLength": 3, "maxLength": 63, "pattern": rules.NAME_PATTERN}
_PAGING = (
    QueryParam("$top", {"type": "integer", "minimum": 1, "maximum": 1000}, "Page size."),
    QueryParam("$skipToken", {"type": "string"}, "From the previous page's nextLink."),
)
_EXPAND = QueryParam(
    "$expand", {"type": "string", "enum": ["healthStatus"]}, "Add properties.healthStatus."
)

INSTANCES = ResourceType(
    "instances",
    "instanceName",
    name_rule=rules.check_resource_name,
    name_schema=_NAME,
    subscription_collection={
        "GET": Operation(
            instances.list_, "Instance_ListBySubscription", "List the instances of a "
            "subscription.", {200: s.InstanceList}, query=_PAGING
        ),
    },
    collection={
        "GET": Operation(
            instances.list_, "Instance_ListByResourceGroup", "List the instances of a "
            "resource group.", {200: s.InstanceList}, query=_PAGING
        ),
    },
    item={
        "GET": Operation(instances.get, "Instance_Get", "Get an instance.",
                         {200: s.InstanceResource}),
        "PUT": Operation(instances.put, "Instance_CreateOrUpdate", "Create or replace an "
                         "instance (and its default registry endpoint).",
                         {200: s.InstanceResource, 201: s.InstanceResource}, InstanceBody,
                         long_running=True),
        "PATCH": Operation(instances.patch, "Instance_Update", "Update an instance's tags "
                           "and properties.", {200: s.InstanceResource}, InstancePatchBody),
        "DELETE": Operation(instances.delete, "Instance_Delete", "Delete an instance and "
                            "everything under it.", {204: None}, long_running=True),
    },
    api_versions=SUPPORTED_API_VERSIONS,
)

REGISTRY_ENDPOINTS = ResourceType(
    "registryEndpoints",
    "registryEndpointName",
    parent=INSTANCES,
    name_rule=rules.check_resource_name,
    name_schema=_NAME,
    collection={
        "GET": Operation(
            endpoints.list_, "RegistryEndpoint_ListByInstanceResource", "List the registry "
            "endpoints of an instance.", {200: s.RegistryEndpointList},
            query=(*_PAGING, _EXPAND),
        ),
    },
    item={
        "GET": Operation(endpoints.get, "RegistryEndpoint_Get", "Get a registry endpoint.",
                         {200: s.RegistryEndpointResource}, query=(_EXPAND,)),
        "PUT": Operation(endpoints.put, "RegistryEndpoint_CreateOrReplace", "Create or "
                         "replace a registry endpoint; its health is checked in the "
                         "background.", {200: s.RegistryEndpointResource,
                                         201: s.RegistryEndpointResource},
                         RegistryEndpointBody, long_running=True),
        "DELETE": Operation(endpoints.delete, "RegistryEndpoint_Delete", "Delete a registry "
                            "endpoint (409 RegistryEndpointInUse while dataflow graphs or "
                            "connector templates name it, unless force=true).", {204: None},
                            query=(QueryParam("force", {"type": "boolean"}, "Delete even "
                                              "while resources name it."),),
                            long_running=True),
    },
    actions=(
        Action("resolveCredentials", {
            "POST": Operation(
                endpoints.resolve_credentials, "RegistryEndpoint_ResolveCredentials",
                "Where a pull-secret endpoint's credentials come from (never the values).",
                {200: s.ResolvedCredentials}, body_required=False,
                query=(QueryParam("fresh", {"type": "boolean"}, "Read the vault, not the "
                                  "cache."),),
            ),
        }),
        Action("test", {
            "POST": Operation(
                endpoints.test, "RegistryEndpoint_Test", "Run the connection test now; its "
                "verdict becomes the endpoint's health.", {200: s.ConnectionTestReport},
                ConnectionTestBody, body_required=False,
            ),
        }),
        Action("connectionSettings", {
            "GET": Operation(endpoints.get_connection_settings,
                             "RegistryEndpoint_GetConnectionSettings",
                             "How to reach the registry: CA bundle, plain HTTP, realm hosts.",
                             {200: s.ConnectionSettingsResource}),
            "PUT": Operation(endpoints.put_connection_settings,
                             "RegistryEndpoint_SetConnectionSettings",
                             "Replace the connection settings.",
                             {200: s.ConnectionSettingsResource}, ConnectionSettingsBody),
        }),
        Action("verifyArtifact", {
            "POST": Operation(
                endpoints.verify_artifact, "RegistryEndpoint_VerifyArtifact",
                "Apply the endpoint's signature policy to one artifact: resolve it through "
                "the endpoint and verify its Notary signatures against the code-signing CAs.",
                {200: s.ArtifactSignatureCheck}, VerifyArtifactBody,
            ),
        }),
        Action("health", {
            "GET": Operation(endpoints.get_health, "RegistryEndpoint_GetHealth",
                             "Health state, message, times and the last test report.",
                             {200: s.EndpointHealth}),
        }),
        Action("pullConnectorMetadata", {
            "POST": Operation(endpoints.pull_connector_metadata,
                              "RegistryEndpoint_PullConnectorMetadata",
                              "Pull connector metadata through this endpoint and validate it "
                              "(what a connector template is made from).",
                              {200: s.PulledConnectorMetadata}, s.PullConnectorMetadataBody),
        }),
    ),
    api_versions=SUPPORTED_API_VERSIONS,
)

SYNCED_SECRETS = ResourceType(
    "syncedSecrets",
    "syncedSecretName",
    parent=INSTANCES,
    collection={
        "GET": Operation(secrets.list_synced, "SyncedSecret_List", "List synced secrets.",
                         {200: s.SyncedSecretList}, query=_PAGING),
    },
    item={
        "GET": Operation(secrets.get_synced, "SyncedSecret_Get", "Get a synced secret.",
                         {200: s.SyncedSecretResource}),
        "PUT": Operation(secrets.put_synced, "SyncedSecret_CreateOrReplace", "Map Key Vault "
                         "secrets to the keys of one Kubernetes secret.",
                         {200: s.SyncedSecretResource, 201: s.SyncedSecretResource},
                         SyncedSecretBody),
        "DELETE": Operation(secrets.delete_synced, "SyncedSecret_Delete", "Delete a synced "
                            "secret (409 while endpoints name it, unless force=true).",
                            {204: None}, query=(QueryParam("force", {"type": "boolean"}),)),
    },
    api_versions=SUPPORTED_API_VERSIONS,
)

CONFIG_MAPS = ResourceType(
    "configMaps",
    "configMapName",
    parent=INSTANCES,
    collection={
        "GET": Operation(config_maps.list_, "ConfigMap_List", "List ConfigMaps.",
                         {200: s.ConfigMapList}, query=_PAGING),
    },
    item={
        "GET": Operation(config_maps.get, "ConfigMap_Get", "Get a ConfigMap.",
                         {200: s.ConfigMapResource}),
        "PUT": Operation(config_maps.put, "ConfigMap_CreateOrReplace", "Create or replace a "
                         "ConfigMap (non-secret configuration, such as code-signing CAs).",
                         {200: s.ConfigMapResource, 201: s.ConfigMapResource}, ConfigMapBody),
        "DELETE": Operation(config_maps.delete, "ConfigMap_Delete", "Delete a ConfigMap "
                            "(409 while endpoints name it, unless force=true).",
                            {204: None}, query=(QueryParam("force", {"type": "boolean"}),)),
    },
    api_versions=SUPPORTED_API_VERSIONS,
)

KEY_VAULT_SECRETS = ResourceType(
    "keyVaultSecrets",
    "secretName",
    parent=INSTANCES,
    name_schema={"type": "string", "pattern": "^[0-9a-zA-Z-]{1,127}$"},
    collection={
        "GET": Operation(secrets.list_kv, "KeyVaultSecret_List", "The instance's Key Vault "
                         "secrets: names and metadata.", {200: s.KeyVaultSecretList}),
    },
    item={
        "GET": Operation(secrets.get_kv, "KeyVaultSecret_Get", "A Key Vault secret's "
                         "metadata (never its value).", {200: s.KeyVaultSecretInfo}),
        "PUT": Operation(secrets.put_kv, "KeyVaultSecret_Set", "Set a new version of a Key "
                         "Vault secret (write-only).",
                         {200: s.KeyVaultSecretInfo, 201: s.KeyVaultSecretInfo},
                         KeyVaultSecretBody),
    },
    api_versions=SUPPORTED_API_VERSIONS,
)

def _resolve_actions(noun: str, answer: type) -> tuple[Action, ...]:
    return (
        Action("resolve", {
            "POST": Operation(
                pulling.resolve, f"{noun}_Resolve", "Resolve every reference now, through "
                "its registry endpoint; answers the resource with its new status.",
                {200: answer}, body_required=False,
            ),
        }),
        Action("resolution", {
            "GET": Operation(
                pulling.get_resolution, f"{noun}_GetResolution", "What the last resolution "
                "found: each reference, its digest, the reason of a failure (our extension).",
                {200: s.ResolutionReport},
            ),
        }),
    )


DATAFLOW_PROFILES = ResourceType(
    "dataflowProfiles",
    "dataflowProfileName",
    parent=INSTANCES,
    name_rule=rules.check_resource_name,
    name_schema=_NAME,
    collection={
        "GET": Operation(pulling.list_, "DataflowProfile_ListByResourceGroup", "List the "
                         "dataflow profiles of an instance.", {200: s.DataflowProfileList},
                         query=_PAGING),
    },
    item={
        "GET": Operation(pulling.get, "DataflowProfile_Get", "Get a dataflow profile.",
                         {200: s.DataflowProfileResource}),
        "PUT": Operation(pulling.put, "DataflowProfile_CreateOrUpdate", "Create or replace a "
                         "dataflow profile.", {200: s.DataflowProfileResource,
                                               201: s.DataflowProfileResource},
                         DataflowProfileBody, long_running=True),
        "DELETE": Operation(pulling.delete, "DataflowProfile_Delete", "Delete a dataflow "
                            "profile and its graphs.", {204: None}, long_running=True),
    },
    api_versions=SUPPORTED_API_VERSIONS,
)

DATAFLOW_GRAPHS = ResourceType(
    "dataflowGraphs",
    "dataflowGraphName",
    parent=DATAFLOW_PROFILES,
    name_rule=rules.check_resource_name,
    name_schema=_NAME,
    collection={
        "GET": Operation(pulling.list_, "DataflowGraph_ListByDataflowProfile", "List the "
                         "dataflow graphs of a profile.", {200: s.DataflowGraphList},
                         query=_PAGING),
    },
    item={
        "GET": Operation(pulling.get, "DataflowGraph_Get", "Get a dataflow graph.",
                         {200: s.DataflowGraphResource}),
        "PUT": Operation(pulling.put, "DataflowGraph_CreateOrUpdate", "Create or replace a "
                         "dataflow graph; answers Accepted, and its graph artifacts and modules "
                         "are resolved in the background.",
                         {200: s.DataflowGraphResource, 201: s.DataflowGraphResource},
                         DataflowGraphBody, long_running=True),
        "DELETE": Operation(pulling.delete, "DataflowGraph_Delete", "Delete a dataflow graph.",
                            {204: None}, long_running=True),
    },
    actions=_resolve_actions("DataflowGraph", s.DataflowGraphResource),
    api_versions=SUPPORTED_API_VERSIONS,
)

CONNECTOR_TEMPLATES = ResourceType(
    "akriConnectorTemplates",
    "akriConnectorTemplateName",
    parent=INSTANCES,
    name_rule=rules.check_resource_name,
    name_schema=_NAME,
    collection={
        "GET": Operation(pulling.list_, "AkriConnectorTemplate_ListByInstanceResource", "List "
                         "the Akri connector templates of an instance.",
                         {200: s.ConnectorTemplateList}, query=_PAGING),
    },
    item={
        "GET": Operation(pulling.get, "AkriConnectorTemplate_Get", "Get a connector template.",
                         {200: s.ConnectorTemplateResource}),
        "PUT": Operation(pulling.put, "AkriConnectorTemplate_CreateOrReplace", "Create or "
                         "replace a connector template; answers Accepted, and its metadata and "
                         "image are resolved in the background.",
                         {200: s.ConnectorTemplateResource, 201: s.ConnectorTemplateResource},
                         ConnectorTemplateBody, long_running=True),
        "DELETE": Operation(pulling.delete, "AkriConnectorTemplate_Delete", "Delete a "
                            "connector template.", {204: None}, long_running=True),
    },
    actions=_resolve_actions("AkriConnectorTemplate", s.ConnectorTemplateResource),
    api_versions=SUPPORTED_API_VERSIONS,
)

# The container registries this server knows (its --dev registry, registered ones, the hosts
# of endpoints), shaped like ACR's resource, so the portal can offer them to pick from.
CONTAINER_REGISTRIES = ResourceType(
    "registries",
    "registryName",
    provider="Microsoft.ContainerRegistry",
    name_schema={"type": "string", "pattern": "^[a-zA-Z0-9]{5,50}$"},
    subscription_collection={
        "GET": Operation(registries.list_, "Registries_List", "List the container "
                         "registries the server knows in a subscription.",
                         {200: s.ContainerRegistryList}),
    },
    collection={
        "GET": Operation(registries.list_, "Registries_ListByResourceGroup", "List the "
                         "container registries the server knows in a resource group.",
                         {200: s.ContainerRegistryList}),
    },
    item={
        "GET": Operation(registries.get, "Registries_Get", "Get a container registry.",
                         {200: s.ContainerRegistryResource}),
        "PUT": Operation(registries.put, "Registries_Register", "Register a container "
                         "registry by its login server, to offer it in the portal.",
                         {200: s.ContainerRegistryResource,
                          201: s.ContainerRegistryResource}, s.ContainerRegistryBody),
        "DELETE": Operation(registries.delete, "Registries_Delete", "Forget a registered "
                            "container registry (204, also when it was not there).",
                            {204: None}),
    },
    api_versions=REGISTRY_API_VERSIONS,
)

# The catalog: views under an instance, filled by the sync engine (docs/catalog.md).
_CATALOG_QUERY = (
    QueryParam("$top", {"type": "integer", "minimum": 1, "maximum": 1000}, "Page size."),
    QueryParam("$skipToken", {"type": "string"}, "From the previous page's nextLink."),
    QueryParam("search", {"type": "string"}, "Free text: every word must match (prefixes)."),
    QueryParam("endpoint", {"type": "string"}, "Registry endpoint name."),
    QueryParam("vendor", {"type": "string"}),
    QueryParam("latest", {"type": "boolean"}, "Only the latest version of each repository."),
    QueryParam("versionRange", {"type": "string"}, "Semver range: '>=1.0.0 <2.0.0', '^1.2'."),
    QueryParam("repository", {"type": "string"}),
    QueryParam("stripped", {"type": "boolean"}, "Only (or no) artifacts whose media types "
               "were stripped."),
    QueryParam("orderBy", {"type": "string"}, "name | semver | lastPushed [asc|desc]."),
    QueryParam("$facets", {"type": "boolean"}, "Add the count of each filter value."),
)
_GRAPH_QUERY = (
    *_CATALOG_QUERY,
    QueryParam("operationType", {"type": "string"}),
    QueryParam("module", {"type": "string"}, "A module reference, repo:tag or repo."),
    QueryParam("runtimeVersion", {"type": "string"}, "Graphs this runtime version can run."),
    QueryParam("compatible", {"type": "boolean"}, "Graphs the instance's version can run."),
)
_CONNECTOR_QUERY = (
    *_CATALOG_QUERY,
    QueryParam("endpointType", {"type": "string"}),
    QueryParam("architecture", {"type": "string"}, "e.g. linux/arm64."),
)
_ENTRY = {"type": "string", "pattern": "^[0-9]{1,12}$"}


def _catalog_view(segment: str, what: str, list_: Handler, get: Handler,
                  query: tuple[QueryParam, ...]) -> ResourceType:
    title = what[0].upper() + what[1:]
    op = "Catalog" + title.replace(" ", "")
    return ResourceType(
        f"catalog/{segment}",
        "entryName",
        parent=INSTANCES,
        name_schema=_ENTRY,
        collection={"GET": Operation(list_, f"{op}_List", f"{title}s in the instance's "
                                     "registries: filter, search, sort, page.",
                                     {200: s.CatalogList}, query=query)},
        item={"GET": Operation(get, f"{op}_Get", f"One {what} with its versions.",
                               {200: s.CatalogEntry})},
        api_versions=SUPPORTED_API_VERSIONS,
    )


CATALOG_GRAPHS = _catalog_view("graphs", "dataflow graph", catalog.list_graphs,
                               catalog.get_graph, _GRAPH_QUERY)
CATALOG_MODULES = _catalog_view("modules", "WASM module", catalog.list_modules,
                                catalog.get_module, _CATALOG_QUERY)
CATALOG_CONNECTORS = _catalog_view("connectors", "connector metadata",
                                   catalog.list_connectors, catalog.get_connector,
                                   _CONNECTOR_QUERY)
CATALOG_ENDPOINTS = ResourceType(
    "catalog/endpoints",
    "registryEndpointName",
    parent=INSTANCES,
    collection={"GET": Operation(catalog.status, "Catalog_SyncStatus", "Each endpoint's "
                                 "catalog sync: last sync, error, staleness, counts.",
                                 {200: s.CatalogStatus})},
    api_versions=SUPPORTED_API_VERSIONS,
)
CATALOG_SYNC = ResourceType(
    "catalog/sync",
    "unused",
    parent=INSTANCES,
    collection={"POST": Operation(catalog.sync, "Catalog_Sync", "Sync the catalog from every "
                                  "endpoint now (wait=false: in the background, 202).",
                                  {200: s.CatalogStatus, 202: s.CatalogStatus},
                                  body_required=False,
                                  query=(QueryParam("wait", {"type": "boolean"}),))},
    api_versions=SUPPORTED_API_VERSIONS,
)

RESOURCE_TYPES: tuple[ResourceType, ...] = (
    INSTANCES,
    REGISTRY_ENDPOINTS,
    SYNCED_SECRETS,
    CONFIG_MAPS,
    KEY_VAULT_SECRETS,
    DATAFLOW_PROFILES,
    DATAFLOW_GRAPHS,
    CONNECTOR_TEMPLATES,
    CONTAINER_REGISTRIES,
    CATALOG_GRAPHS,
    CATALOG_MODULES,
    CATALOG_CONNECTORS,
    CATALOG_ENDPOINTS,
    CATALOG_SYNC,
)
ROUTES: tuple[Route, ...] = compile_routes(RESOURCE_TYPES)
