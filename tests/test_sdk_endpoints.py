"""The unmodified azure-mgmt-iotoperations 1.2.0 client against a real `iotops serve`."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.iotoperations import IoTOperationsMgmtClient
from azure.mgmt.iotoperations import models as m

from tests.conftest import Scope

UAMI = m.RegistryEndpointUserAssignedIdentityAuthentication(
    user_assigned_managed_identity_settings=m.RegistryEndpointUserAssignedManagedIdentitySettings(
        client_id="11111111-2222-3333-4444-555555555555",
        tenant_id="66666666-7777-8888-9999-000000000000",
        scope="https://containerregistry.azure.net/.default",
    )
)
METHODS: dict[str, m.RegistryEndpointAuthentication] = {
    "Anonymous": m.RegistryEndpointAnonymousAuthentication(
        anonymous_settings=m.RegistryEndpointAnonymousSettings()
    ),
    "SystemAssignedManagedIdentity": m.RegistryEndpointSystemAssignedIdentityAuthentication(
        system_assigned_managed_identity_settings=m.RegistryEndpointSystemAssignedManagedIdentitySettings(
            audience="https://management.azure.com/"
        )
    ),
    "UserAssignedManagedIdentity": UAMI,
    "ArtifactPullSecret": m.RegistryEndpointArtifactPullSecretAuthentication(
        artifact_pull_secret_settings=m.RegistryEndpointArtifactPullSecretSettings(
            secret_ref="acr-pull-secret"
        )
    ),
}
SETTINGS_ATTR = {
    "Anonymous": "anonymous_settings",
    "SystemAssignedManagedIdentity": "system_assigned_managed_identity_settings",
    "UserAssignedManagedIdentity": "user_assigned_managed_identity_settings",
    "ArtifactPullSecret": "artifact_pull_secret_settings",
}


def _resource(
    scope: Scope,
    host: str,
    auth: m.RegistryEndpointAuthentication,
    cas: list[m.RegistryEndpointTrustedSigningKey] | None = None,
) -> m.RegistryEndpointResource:
    return m.RegistryEndpointResource(
        extended_location=scope.extended_location(),
        properties=m.RegistryEndpointProperties(
            host=host, authentication=auth, code_signing_cas=cas
        ),
    )


CAS = [
    m.RegistryEndpointTrustedSigningKeyConfigMap(config_map_ref="notation-ca"),
    m.RegistryEndpointTrustedSigningKeySecret(secret_ref="cosign-pub"),
]


@pytest.mark.parametrize("method", list(METHODS))
def test_crud_each_method(sdk: IoTOperationsMgmtClient, scope: Scope, method: str) -> None:
    ops = sdk.registry_endpoint
    name = f"ep-{method.lower()[:20]}"
    created = ops.begin_create_or_update(
        scope.rg, scope.instance, name, _resource(scope, "myacr.azurecr.io", METHODS[method], CAS)
    ).result()
    assert created.name == name
    assert created.id == scope.endpoint_path(name)
    assert created.type == "Microsoft.IoTOperations/instances/registryEndpoints"
    assert created.properties.authentication.method == method
    assert created.properties.provisioning_state == "Succeeded"
    assert created.properties.health_state == "Unknown"
    assert created.system_data.created_by.endswith("@local")
    assert created.system_data.created_by_type == "User"
    assert [c.type for c in created.properties.code_signing_cas] == ["ConfigMap", "Secret"]
    assert created.extended_location.name == scope.location

    got = ops.get(scope.rg, scope.instance, name)
    # healthState may already have moved on: the server tests new endpoints in the background.
    assert got.properties.health_state in ("Unknown", "Unavailable")
    mine, theirs = got.as_dict(), created.as_dict()
    for doc in (mine, theirs):
        doc["properties"].pop("health_state", None)
        doc["properties"].pop("healthState", None)
    assert mine == theirs
    settings = getattr(got.properties.authentication, SETTINGS_ATTR[method])
    assert settings is not None
    if method == "UserAssignedManagedIdentity":
        assert settings.client_id == "11111111-2222-3333-4444-555555555555"
        assert settings.scope == "https://containerregistry.azure.net/.default"

    # Replace: host changes, auth switches to anonymous, CAs cleared.
    updated = ops.begin_create_or_update(
        scope.rg,
        scope.instance,
        name,
        _resource(scope, "other.example.com:5000/team", METHODS["Anonymous"]),
    ).result()
    assert updated.properties.host == "other.example.com:5000/team"
    assert updated.properties.authentication.method == "Anonymous"
    assert updated.properties.code_signing_cas is None
    assert updated.system_data.created_at == created.system_data.created_at
    assert updated.system_data.last_modified_at >= created.system_data.last_modified_at

    names = [e.name for e in ops.list_by_instance_resource(scope.rg, scope.instance)]
    assert sorted(names) == ["default", name]

    ops.begin_delete(scope.rg, scope.instance, name).result()
    with pytest.raises(ResourceNotFoundError) as err:
        ops.get(scope.rg, scope.instance, name)
    assert err.value.error.code == "ResourceNotFound"
    # Deleting again is fine (204), as in ARM.
    ops.begin_delete(scope.rg, scope.instance, name).result()


def test_instance_lifecycle_and_default_endpoint(
    sdk: IoTOperationsMgmtClient, scope: Scope
) -> None:
    inst = sdk.instance.get(scope.rg, scope.instance)
    assert inst.properties.provisioning_state == "Succeeded"
    assert inst.properties.description == "test instance"
    default = sdk.registry_endpoint.get(scope.rg, scope.instance, "default")
    assert default.properties.host == "mcr.microsoft.com"
    assert default.properties.authentication.method == "Anonymous"
    listed = [i.name for i in sdk.instance.list_by_resource_group(scope.rg)]
    assert listed == [scope.instance]
    assert scope.instance in [i.name for i in sdk.instance.list_by_subscription()]

    sdk.registry_endpoint.begin_create_or_update(
        scope.rg, scope.instance, "extra", _resource(scope, "x.azurecr.io", METHODS["Anonymous"])
    ).result()
    sdk.instance.begin_delete(scope.rg, scope.instance).result()
    with pytest.raises(ResourceNotFoundError):
        sdk.instance.get(scope.rg, scope.instance)
    # Its endpoints went with it: the parent is gone.
    with pytest.raises(ResourceNotFoundError) as err:
        sdk.registry_endpoint.get(scope.rg, scope.instance, "extra")
    with pytest.raises(ResourceNotFoundError) as err:
        list(sdk.registry_endpoint.list_by_instance_resource(scope.rg, scope.instance))
    assert err.value.error.code == "ParentResourceNotFound"


def test_list_pages(sdk: IoTOperationsMgmtClient, scope: Scope, http) -> None:  # type: ignore[no-untyped-def]
    for i in range(7):
        sdk.registry_endpoint.begin_create_or_update(
            scope.rg,
            scope.instance,
            f"page-{i:02d}",
            _resource(scope, "x.azurecr.io", METHODS["Anonymous"]),
        ).result()
    # Ask the server for small pages; the SDK follows nextLink (and keeps $top/$skipToken).
    first = http.get(
        f"{scope.instance_path}/registryEndpoints", params={"api-version": "2026-07-01", "$top": 3}
    ).json()
    assert len(first["value"]) == 3 and first["nextLink"]
    pages = sdk.registry_endpoint.list_by_instance_resource(scope.rg, scope.instance).by_page(
        continuation_token=first["nextLink"]
    )
    rest = [e.name for page in pages for e in page]
    assert [e["name"] for e in first["value"]] + rest == ["default"] + [
        f"page-{i:02d}" for i in range(7)
    ]


def test_sdk_errors_carry_code_and_target(sdk: IoTOperationsMgmtClient, scope: Scope) -> None:
    ops = sdk.registry_endpoint
    with pytest.raises(HttpResponseError) as err:
        ops.begin_create_or_update(
            scope.rg,
            scope.instance,
            "bad-host",
            _resource(scope, "https://x.azurecr.io", METHODS["Anonymous"]),
        ).result()
    assert err.value.status_code == 400
    assert err.value.error.code == "InvalidHost"
    assert err.value.error.target == "properties.host"
    assert "Drop 'https://'" in err.value.error.message

    bad_uami = m.RegistryEndpointUserAssignedIdentityAuthentication(
        user_assigned_managed_identity_settings=m.RegistryEndpointUserAssignedManagedIdentitySettings(
            client_id="not-a-guid", tenant_id="66666666-7777-8888-9999-000000000000"
        )
    )
    with pytest.raises(HttpResponseError) as err:
        ops.begin_create_or_update(
            scope.rg, scope.instance, "bad-uami", _resource(scope, "x.io", bad_uami)
        ).result()
    assert err.value.error.code == "InvalidGuid"
    assert (
        err.value.error.target
        == "properties.authentication.userAssignedManagedIdentitySettings.clientId"
    )

    with pytest.raises(ResourceNotFoundError) as err:
        ops.get(scope.rg, scope.instance, "missing")
    assert err.value.error.code == "ResourceNotFound"

    with pytest.raises(ResourceNotFoundError) as err:
        ops.begin_create_or_update(
            scope.rg, "no-such-instance", "ep1", _resource(scope, "x.io", METHODS["Anonymous"])
        ).result()
    assert err.value.error.code == "ParentResourceNotFound"

    with pytest.raises(HttpResponseError) as err:
        ops.get(scope.rg, scope.instance, "Bad_Name")
    assert err.value.error.code == "InvalidResourceName"
    assert err.value.error.target == "registryEndpointName"


def test_extended_location_rules(sdk: IoTOperationsMgmtClient, scope: Scope) -> None:
    ops = sdk.registry_endpoint
    other = m.ExtendedLocation(name=scope.location + "-other", type="CustomLocation")
    res = _resource(scope, "x.io", METHODS["Anonymous"])
    res.extended_location = other
    with pytest.raises(HttpResponseError) as err:
        ops.begin_create_or_update(scope.rg, scope.instance, "ep-loc", res).result()
    assert err.value.error.code == "InvalidExtendedLocation"
    # Omitted: inherited from the instance.
    plain = m.RegistryEndpointResource(
        properties=m.RegistryEndpointProperties(host="x.io", authentication=METHODS["Anonymous"])
    )
    created = ops.begin_create_or_update(scope.rg, scope.instance, "ep-loc", plain).result()
    assert created.extended_location.name == scope.location


def test_one_instance_per_custom_location(sdk: IoTOperationsMgmtClient, scope: Scope) -> None:
    from azure.core.exceptions import ResourceExistsError

    with pytest.raises(ResourceExistsError) as err:
        sdk.instance.begin_create_or_update(
            scope.rg + "-b",
            "second",
            m.InstanceResource(
                location="eastus",
                extended_location=scope.extended_location(),
                properties=m.InstanceProperties(),
            ),
        ).result()
    assert err.value.status_code == 409
    assert err.value.error.code == "CustomLocationInUse"
    assert err.value.error.target == "extendedLocation.name"
    assert scope.instance in err.value.error.message
