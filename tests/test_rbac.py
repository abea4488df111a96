"""Authorization with several principals, in-process (the ARM app and the embedded vault).

Every principal but the local admin starts with no role; roles are given over the ARM-shaped
``Microsoft.Authorization/roleAssignments`` API, as ``az role assignment create`` would."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.secrets import SecretClient

from iotops_registry.security import IssuerCredential, Principal
from iotops_registry.security.rbac import (
    BUILTIN_ROLES,
    action_matches,
    find_role,
    permits,
    scope_covers,
)
from tests.conftest import API_VERSION
from tests.support.inprocess import ARM, InProcess, InProcessScope

Q = {"api-version": API_VERSION}
AQ = {"api-version": "2022-04-01"}
EP = "Microsoft.IoTOperations/instances/registryEndpoints"


# --- the pure evaluator ---------------------------------------------------------------------


def test_builtin_roles_have_azure_semantics() -> None:
    owner, contributor, reader = (find_role(n) for n in ("Owner", "contributor", "READER"))
    assert owner and contributor and reader
    assert find_role("acdd72a7-3385-48ef-bd42-f606fba81ae7") is reader
    assert find_role("/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/"
                     "b24988ac-6180-42a0-ab88-20f7382dd24c") is contributor
    write = f"{EP}/write"
    assert owner.permits(write) and contributor.permits(write) and not reader.permits(write)
    assert reader.permits(f"{EP}/connectionSettings/read")
    assert not reader.permits(f"{EP}/test/action")
    assert owner.permits("Microsoft.Authorization/roleAssignments/write")
    assert not contributor.permits("Microsoft.Authorization/roleAssignments/write")
    assert not contributor.permits("microsoft.authorization/ROLEASSIGNMENTS/delete")
    assert contributor.permits("Microsoft.Authorization/roleAssignments/read")
    get = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
    # Owner and Contributor grant no data actions, as in Azure.
    assert not owner.permits(get, data=True) and not contributor.permits(get, data=True)
    officer, user, kv_reader = (find_role(n) for n in (
        "Key Vault Secrets Officer", "Key Vault Secrets User", "Key Vault Reader"))
    assert officer and user and kv_reader
    assert officer.permits(get, data=True) and user.permits(get, data=True)
    assert not kv_reader.permits(get, data=True)
    assert kv_reader.permits("Microsoft.KeyVault/vaults/secrets/readMetadata/action", data=True)
    assert not user.permits("Microsoft.KeyVault/vaults/secrets/setSecret/action", data=True)
    assert len({r.id for r in BUILTIN_ROLES}) == 6
    assert action_matches("*/read", "A/b/c/read") and not action_matches("*/read", "A/readx")


def test_scopes_inherit_downward_only() -> None:
    inst = "/subscriptions/S/resourceGroups/G/providers/Microsoft.IoTOperations/instances/i"
    assert scope_covers("/", inst)
    assert scope_covers("/subscriptions/s", inst)
    assert scope_covers("/subscriptions/S/resourcegroups/g", inst + "/registryEndpoints/e")
    assert not scope_covers(inst, "/subscriptions/S/resourceGroups/G")
    assert not scope_covers(inst, inst + "2")  # a prefix that is not a path segment
    reader = find_role("Reader")
    assert reader is not None
    assert permits([(inst, reader)], f"{EP}/read", inst + "/registryEndpoints/e")
    assert not permits([(inst, reader)], f"{EP}/read", inst.replace("/i", "/j"))


# --- over the API ---------------------------------------------------------------------------


class Who:
    """A principal with its own token and client."""

    def __init__(self, inproc: InProcess, tenant: str | None = None, kind: str = "User") -> None:
        self.oid = str(uuid.uuid4())
        self.principal = Principal(
            self.oid, tenant or inproc.runtime.settings.tenant_id, f"{self.oid}@local", kind
        )
        token = inproc.runtime.issuer.mint(ARM, principal=self.principal)
        self.client = inproc.client(headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def admin(inproc: InProcess) -> Iterator[httpx.Client]:
    with inproc.client() as client:
        yield client


def assign(admin: httpx.Client, oid: str, role: str, scope: str) -> dict[str, Any]:
    role_def = find_role(role)
    assert role_def is not None
    base = "" if scope == "/" else scope
    r = admin.put(
        f"{base}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}", params=AQ,
        json={"properties": {"principalId": oid, "roleDefinitionId":
              f"/providers/Microsoft.Authorization/roleDefinitions/{role_def.id}"}},
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def denied(r: httpx.Response, who: Who, action: str, scope: str) -> None:
    assert r.status_code == 403, r.text
    error = r.json()["error"]
    assert error["code"] == "AuthorizationFailed"
    assert error["message"] == (
        f"The client '{who.oid}' with object id '{who.oid}' does not have authorization to "
        f"perform action '{action}' over scope '{scope}' or the scope is invalid."
    )


def _endpoint(host: str = "example.azurecr.io") -> dict[str, Any]:
    return {"properties": {"host": host, "authentication": {"method": "Anonymous",
            "anonymousSettings": {}}}}


def test_reader_at_an_instance_reads_but_writes_nothing(
    inproc: InProcess, admin: httpx.Client
) -> None:
    scope = InProcessScope(admin, inproc.subscription)
    other = InProcessScope(admin, inproc.subscription)
    ep = scope.endpoint_path("ep1")
    assert admin.put(ep, params=Q, json=_endpoint()).status_code == 201
    reader = Who(inproc)
    assign(admin, reader.oid, "Reader", scope.instance_path)
    c = reader.client
    assert c.get(scope.instance_path, params=Q).status_code == 200
    assert c.get(ep, params=Q).status_code == 200
    assert [e["name"] for e in c.get(f"{scope.instance_path}/registryEndpoints",
                                     params=Q).json()["value"]] == ["default", "ep1"]
    assert c.get(f"{ep}/connectionSettings", params=Q).status_code == 200
    # Lists hold only what the reader may read: its instance, not the others in the group
    # or the subscription.
    rg = scope.instance_path.split("/providers/")[0]
    listed = c.get(f"{rg}/providers/Microsoft.IoTOperations/instances", params=Q).json()
    assert [i["name"] for i in listed["value"]] == [scope.instance]
    sub_list = c.get(f"/subscriptions/{inproc.subscription}/providers/Microsoft.IoTOperations/"
                     "instances", params=Q).json()["value"]
    assert [i["name"] for i in sub_list] == [scope.instance]
    denied(c.get(other.instance_path, params=Q), reader, "Microsoft.IoTOperations/instances/read",
           other.instance_path)
    # Every write, and the actions that use credentials, are refused.
    inst_type = "Microsoft.IoTOperations/instances"
    denied(c.patch(scope.instance_path, params=Q, json={"tags": {"a": "b"}}), reader,
           f"{inst_type}/write", scope.instance_path)
    denied(c.delete(scope.instance_path, params=Q), reader, f"{inst_type}/delete",
           scope.instance_path)
    denied(c.put(ep, params=Q, json=_endpoint("evil.example.com")), reader, f"{EP}/write", ep)
    denied(c.delete(ep, params=Q), reader, f"{EP}/delete", ep)
    denied(c.post(f"{ep}/resolveCredentials", params=Q), reader,
           f"{EP}/resolveCredentials/action", ep)
    denied(c.post(f"{ep}/test", params=Q), reader, f"{EP}/test/action", ep)
    denied(c.put(f"{ep}/connectionSettings", params=Q, json={"properties": {}}), reader,
           f"{EP}/connectionSettings/write", ep)
    denied(c.put(f"{scope.instance_path}/syncedSecrets/s1", params=Q, json={"properties": {
        "objectSecretMapping": [{"sourcePath": "x", "targetKey": "username"}]}}), reader,
        f"{inst_type}/syncedSecrets/write", f"{scope.instance_path}/syncedSecrets/s1")
    denied(c.put(f"{scope.instance_path}/keyVaultSecrets/k1", params=Q,
                 json={"properties": {"value": "v"}}), reader,
           f"{inst_type}/keyVaultSecrets/write", f"{scope.instance_path}/keyVaultSecrets/k1")
    # ...and it cannot give itself more.
    r = reader.client.put(
        f"{scope.instance_path}/providers/Microsoft.Authorization/roleAssignments/"
        f"{uuid.uuid4()}", params=AQ, json={"properties": {"principalId": reader.oid,
        "roleDefinitionId": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"}})
    denied(r, reader, "Microsoft.Authorization/roleAssignments/write", scope.instance_path)
    assert admin.get(ep, params=Q).json()["properties"]["host"] == "example.azurecr.io"


def test_contributor_cannot_map_vault_secrets_it_cannot_read(
    inproc: InProcess, admin: httpx.Client
) -> None:
    scope = InProcessScope(admin, inproc.subscription)
    u = uuid.uuid4().hex[:8]
    for name in (f"user-{u}", f"pass-{u}"):
        r = admin.put(f"{scope.instance_path}/keyVaultSecrets/{name}", params=Q,
                      json={"properties": {"value": f"canary-{u}"}})
        assert r.status_code == 201, r.text
    contributor = Who(inproc)
    assign(admin, contributor.oid, "Contributor", scope.instance_path)
    c = contributor.client
    body = {"properties": {"objectSecretMapping": [
        {"sourcePath": f"user-{u}", "targetKey": "username"},
        {"sourcePath": f"pass-{u}", "targetKey": "password"}]}}
    sync = f"{scope.instance_path}/syncedSecrets/pull-{u}"
    vault = (f"/subscriptions/{inproc.subscription}/resourceGroups/iotops-local/providers/"
             "Microsoft.KeyVault/vaults/iotops-local")
    get = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
    denied(c.put(sync, params=Q, json=body), contributor, get, f"{vault}/secrets/user-{u}")
    # Write access to the instance does create endpoints and other resources.
    assert c.put(scope.endpoint_path("anon"), params=Q, json=_endpoint()).status_code == 201
    # Setting a vault secret through the instance needs setSecret on it.
    denied(c.put(f"{scope.instance_path}/keyVaultSecrets/user-{u}", params=Q,
                 json={"properties": {"value": "x"}}), contributor,
           "Microsoft.KeyVault/vaults/secrets/setSecret/action", f"{vault}/secrets/user-{u}")
    # With read on one secret only, still refused (on the other one).
    assign(admin, contributor.oid, "Key Vault Secrets User", f"{vault}/secrets/user-{u}")
    denied(c.put(sync, params=Q, json=body), contributor, get, f"{vault}/secrets/pass-{u}")
    assign(admin, contributor.oid, "Key Vault Secrets User", f"{vault}/secrets/pass-{u}")
    assert c.put(sync, params=Q, json=body).status_code == 201
    # The admin's synced secret over other secrets: the contributor may not point an
    # endpoint at it, nor move an endpoint that uses it to another host.
    for name in (f"other-{u}",):
        admin.put(f"{scope.instance_path}/keyVaultSecrets/{name}", params=Q,
                  json={"properties": {"value": "v"}})
    theirs = f"{scope.instance_path}/syncedSecrets/theirs-{u}"
    assert admin.put(theirs, params=Q, json={"properties": {"objectSecretMapping": [
        {"sourcePath": f"other-{u}", "targetKey": ".dockerconfigjson"}]}}).status_code == 201
    pull = {"properties": {"host": "myacr.azurecr.io", "authentication": {
        "method": "ArtifactPullSecret",
        "artifactPullSecretSettings": {"secretRef": f"theirs-{u}"}}}}
    ep = scope.endpoint_path("pull")
    denied(c.put(ep, params=Q, json=pull), contributor, get, f"{vault}/secrets/other-{u}")
    assert admin.put(ep, params=Q, json=pull).status_code == 201
    moved = {**pull, "properties": {**pull["properties"], "host": "attacker.example.com"}}
    denied(c.put(ep, params=Q, json=moved), contributor, get, f"{vault}/secrets/other-{u}")
    # The same host and synced secret is no new destination: a re-PUT is allowed.
    assert c.put(ep, params=Q, json=pull).status_code == 200


def test_another_tenant_sees_nothing(inproc: InProcess, admin: httpx.Client) -> None:
    scope = InProcessScope(admin, inproc.subscription)
    stranger = Who(inproc, tenant=str(uuid.uuid4()))
    # Even an assignment naming its object id grants nothing to a principal of another tenant.
    assign(admin, stranger.oid, "Owner", "/")
    c = stranger.client
    rg = scope.instance_path.split("/providers/")[0]
    for path in (f"{rg}/providers/Microsoft.IoTOperations/instances",
                 f"/subscriptions/{inproc.subscription}/providers/Microsoft.IoTOperations/"
                 "instances", f"{scope.instance_path}/registryEndpoints"):
        r = c.get(path, params=Q)
        assert r.status_code == 200 and r.json() == {"value": []}, r.text
    denied(c.get(scope.instance_path, params=Q), stranger,
           "Microsoft.IoTOperations/instances/read", scope.instance_path)
    denied(c.delete(scope.instance_path, params=Q), stranger,
           "Microsoft.IoTOperations/instances/delete", scope.instance_path)
    assert admin.get(scope.instance_path, params=Q).status_code == 200


def test_owner_at_root_can_do_all_and_assignments_apply_at_once(
    inproc: InProcess, admin: httpx.Client
) -> None:
    owner = Who(inproc)
    c = owner.client
    scope_path = f"/subscriptions/{inproc.subscription}"
    nowhere = f"{scope_path}/resourceGroups/rg/providers/Microsoft.IoTOperations/instances/xyz"
    denied(c.get(nowhere, params=Q), owner, "Microsoft.IoTOperations/instances/read", nowhere)
    made = assign(admin, owner.oid, "Owner", "/")
    assert made["properties"]["scope"] == "/"
    assert made["id"] == f"/providers/Microsoft.Authorization/roleAssignments/{made['name']}"
    scope = InProcessScope(c, inproc.subscription)  # creates a group and an instance
    ep = scope.endpoint_path("ep-owner")
    assert c.put(ep, params=Q, json=_endpoint()).status_code == 201
    assert c.put(f"{ep}/connectionSettings", params=Q,
                 json={"properties": {"plainHttp": False}}).status_code == 200
    assert c.delete(ep, params=Q).status_code in (200, 202, 204)
    # An Owner may manage roles: give a reader, list, remove.
    reader = Who(inproc)
    given = assign(c, reader.oid, "Reader", scope.instance_path)
    listed = c.get(f"{scope.instance_path}/providers/Microsoft.Authorization/roleAssignments",
                   params={**AQ, "$filter": f"principalId eq '{reader.oid}'"}).json()["value"]
    assert [a["name"] for a in listed] == [given["name"]]
    assert reader.client.get(scope.instance_path, params=Q).status_code == 200
    gone = c.delete(f"{scope.instance_path}/providers/Microsoft.Authorization/roleAssignments/"
                    f"{given['name']}", params=AQ)
    assert gone.status_code == 200 and gone.json()["name"] == given["name"]
    # The cache is cleared by the change: refused at once.
    assert reader.client.get(scope.instance_path, params=Q).status_code == 403
    defs = c.get("/providers/Microsoft.Authorization/roleDefinitions", params=AQ).json()["value"]
    assert {d["properties"]["roleName"] for d in defs} >= {"Owner", "Reader",
                                                           "Key Vault Secrets User"}
    assert c.delete(scope.instance_path, params=Q).status_code in (200, 202, 204)


def test_role_assignment_rules(inproc: InProcess, admin: httpx.Client) -> None:
    oid = str(uuid.uuid4())
    base = f"/subscriptions/{inproc.subscription}/providers/Microsoft.Authorization"
    body = {"properties": {"principalId": oid, "roleDefinitionId": "Reader"}}
    name = str(uuid.uuid4())
    assert admin.put(f"{base}/roleAssignments/{name}", params=AQ, json=body).status_code == 201
    assert admin.put(f"{base}/roleAssignments/{name}", params=AQ, json=body).status_code == 200
    dup = admin.put(f"{base}/roleAssignments/{uuid.uuid4()}", params=AQ, json=body)
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "RoleAssignmentExists"
    bad_role = {"properties": {"principalId": oid, "roleDefinitionId": "Superuser"}}
    r = admin.put(f"{base}/roleAssignments/{uuid.uuid4()}", params=AQ, json=bad_role)
    assert r.status_code == 400 and r.json()["error"]["code"] == "RoleDefinitionDoesNotExist"
    r = admin.put(f"{base}/roleAssignments/not-a-guid", params=AQ, json=body)
    assert r.status_code == 400
    r = admin.get(f"{base}/roleAssignments/{uuid.uuid4()}", params=AQ)
    assert r.status_code == 404 and r.json()["error"]["code"] == "RoleAssignmentNotFound"
    assert admin.delete(f"{base}/roleAssignments/{uuid.uuid4()}", params=AQ).status_code == 204
    assert admin.get(f"{base}/roleAssignments", params={}).status_code == 400


def test_vault_data_plane_is_authorized_per_secret(inproc: InProcess) -> None:
    """The unmodified SecretClient: a principal without a Key Vault role is refused with Key
    Vault's 403; Key Vault Secrets User on one secret reads that one only."""
    runtime = inproc.runtime
    u = uuid.uuid4().hex[:8]
    admin_vault = SecretClient(runtime.vault_origin, IssuerCredential(
        runtime.issuer, runtime.issuer.default_user()), verify_challenge_resource=False,
        connection_verify=str(runtime.data_dir.ca_path))
    admin_vault.set_secret(f"a-{u}", "va")
    admin_vault.set_secret(f"b-{u}", "vb")
    who = Principal(str(uuid.uuid4()), runtime.settings.tenant_id, "someone@local", "User")
    theirs = SecretClient(runtime.vault_origin, IssuerCredential(runtime.issuer, who),
                          verify_challenge_resource=False,
                          connection_verify=str(runtime.data_dir.ca_path))
    with pytest.raises(HttpResponseError) as refused:
        theirs.get_secret(f"a-{u}")
    assert refused.value.status_code == 403
    assert "ForbiddenByRbac" in str(refused.value)
    vault = (f"/subscriptions/{inproc.subscription}/resourceGroups/iotops-local/providers/"
             "Microsoft.KeyVault/vaults/iotops-local")
    with inproc.client() as admin:
        assign(admin, who.object_id, "Key Vault Secrets User", f"{vault}/secrets/a-{u}")
    assert theirs.get_secret(f"a-{u}").value == "va"
    with pytest.raises(HttpResponseError) as other:
        theirs.get_secret(f"b-{u}")
    assert other.value.status_code == 403
    with pytest.raises(HttpResponseError) as write:
        theirs.set_secret(f"a-{u}", "changed")
    assert write.value.status_code == 403
    assert admin_vault.get_secret(f"a-{u}").value == "va"
