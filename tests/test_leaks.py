"""A canary password set through every path must appear only in responses to the caller that
set or read it: the vault's answers to set-secret (which echo the value, as Azure Key Vault's
do) and get-secret, and `iotops secret show --reveal`. Everything else is scanned: every file
under the data directory, every server log line (DEBUG), every other HTTP response body (the
ARM API, which also forwards values to the vault, and the vault's other answers), all CLI
output, and (on PostgreSQL) every row of every table."""

from __future__ import annotations

import ssl
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa

from iotops_registry import LocalIssuerCredential
from tests.conftest import API_VERSION, Scope
from tests.support.cli import iotops
from tests.support.server import (
    ServerProcess,
    create_pg_database,
    database_backend,
    drop_pg_database,
)

Q = {"api-version": API_VERSION}


def test_canaries_do_not_leak(tmp_path: Path) -> None:
    canary_api = f"CanaryApi-{uuid.uuid4().hex}"
    canary_cli = f"CanaryCli-{uuid.uuid4().hex}"
    canary_vault = f"CanaryVault-{uuid.uuid4().hex}"
    canaries = (canary_api.encode(), canary_cli.encode(), canary_vault.encode())
    db = create_pg_database() if database_backend() == "postgresql" else None
    srv = ServerProcess(tmp_path / "leak", database_url=db, extra_args=["--log-level", "debug"])
    srv.start()
    scanned: list[tuple[str, bytes]] = []  # everything that must not contain a canary
    allowed: list[tuple[str, bytes]] = []  # where a canary is expected
    try:
        cred = LocalIssuerCredential(srv.data_dir)
        tls = ssl.create_default_context(cafile=srv.ca)

        def record(response: httpx.Response) -> None:
            response.read()
            scanned.append((f"{response.request.method} {response.request.url}", response.content))

        arm = httpx.Client(
            base_url=srv.arm,
            verify=tls,
            event_hooks={"response": [record]},
            headers={"Authorization": f"Bearer {cred.mint('https://management.azure.com')}"},
        )
        from azure.mgmt.iotoperations import IoTOperationsMgmtClient

        with IoTOperationsMgmtClient(
            cred, srv.subscription, base_url=srv.arm, connection_verify=srv.ca
        ) as sdk:
            scope = Scope(sdk, srv.subscription)
        kv = f"{scope.instance_path}/keyVaultSecrets"

        # --- through the API -------------------------------------------------------------
        arm.put(f"{kv}/leak-user", params=Q, json={"properties": {"value": "robot"}})
        arm.put(f"{kv}/leak-pass", params=Q, json={"properties": {"value": canary_api}})
        arm.put(f"{kv}/leak-too-big", params=Q, json={"properties": {"value": canary_api * 800}})
        arm.put(f"{kv}/bad_name", params=Q, json={"properties": {"value": canary_api}})
        arm.put(
            f"{kv}/leak-pass",
            params=Q,
            json={"properties": {"value": canary_api, "unknown": canary_api}},
        )
        arm.get(kv, params=Q)
        arm.get(f"{kv}/leak-pass", params=Q)
        arm.put(
            f"{scope.instance_path}/syncedSecrets/leak-pull",
            params=Q,
            json={
                "properties": {
                    "objectSecretMapping": [
                        {"sourcePath": "leak-user", "targetKey": "username"},
                        {"sourcePath": "leak-pass", "targetKey": "password"},
                    ]
                }
            },
        )
        ep = {
            "properties": {
                "host": "myacr.azurecr.io",
                "authentication": {
                    "method": "ArtifactPullSecret",
                    "artifactPullSecretSettings": {"secretRef": "leak-pull"},
                },
            }
        }
        arm.put(scope.endpoint_path("leaky"), params=Q, json=ep)
        arm.get(scope.endpoint_path("leaky"), params=Q)
        arm.get(f"{scope.instance_path}/registryEndpoints", params=Q)
        for fresh in ("false", "true"):
            r = arm.post(
                f"{scope.endpoint_path('leaky')}/resolveCredentials", params={**Q, "fresh": fresh}
            )
            assert r.status_code == 200, r.text
        # Rotation keeps the canary inside a longer value.
        arm.put(f"{kv}/leak-pass", params=Q, json={"properties": {"value": canary_api + "-2"}})

        # --- through the CLI ---------------------------------------------------------------
        rg, inst = scope.rg, scope.instance
        for args, stdin in [
            (("secret", "set", "-n", "leak-cli", "--value-stdin"), canary_cli),
            (("secret", "set", "-n", "bad_name", "--value-stdin"), canary_cli),
            (("secret", "list"), None),
            (("secret", "show", "-n", "leak-cli"), None),
            (("secret", "show", "-n", "leak-cli", "-o", "table"), None),
            (
                (
                    "secretsync",
                    "set",
                    "-i",
                    inst,
                    "-g",
                    rg,
                    "--name",
                    "leak-pull",
                    "--secret-map",
                    "leak-cli=password",
                ),
                None,
            ),
            (("secretsync", "show", "-i", inst, "-g", rg, "--name", "leak-pull"), None),
            (("secretsync", "list", "-i", inst, "-g", rg, "-o", "yaml"), None),
            (("registry", "show", "-n", "leaky", "-i", inst, "-g", rg), None),
            (("registry", "list", "-i", inst, "-g", rg, "-o", "tsv"), None),
        ]:
            result = iotops(srv, *args, stdin=stdin)
            scanned.append((f"cli {' '.join(args)}", result.output.encode()))
        r = arm.post(
            f"{scope.endpoint_path('leaky')}/resolveCredentials", params={**Q, "fresh": "true"}
        )
        assert r.status_code == 200

        # --- the places a value may appear: answers to its own caller (positive controls) ----
        revealed = iotops(srv, "secret", "show", "-n", "leak-cli", "--reveal")
        allowed.append(("cli secret show --reveal", revealed.output.encode()))
        vault_token = cred.mint("https://vault.azure.net")
        vault_url = srv.endpoints["vault"]
        kv_q = {"api-version": "7.5"}
        with httpx.Client(
            base_url=vault_url, verify=tls, headers={"Authorization": f"Bearer {vault_token}"}
        ) as vault:
            got = vault.get("/secrets/leak-pass/", params=kv_q)
            allowed.append(("vault get-secret", got.content))
            put = vault.put("/secrets/leak-direct", params=kv_q, json={"value": canary_vault})
            allowed.append(("vault set-secret, to its caller", put.content))
            # The vault's other answers carry no value, to anyone.
            version = put.json()["id"].rsplit("/", 1)[1]
            for method, path, body in [
                ("GET", "/secrets", None),
                ("GET", "/secrets/leak-direct/versions", None),
                ("GET", "/secrets/leak-pass/versions", None),
                ("PATCH", f"/secrets/leak-direct/{version}", {"contentType": "text/plain"}),
                ("PUT", "/secrets/bad_name", {"value": canary_vault}),
                ("PUT", "/secrets/leak-direct", {"value": canary_vault, "tags": "x"}),
                ("DELETE", "/secrets/leak-direct", None),
                ("GET", "/deletedsecrets/leak-direct", None),
                ("POST", "/deletedsecrets/leak-direct/recover", None),
            ]:
                r = vault.request(method, path, params=kv_q, json=body)
                scanned.append((f"vault {method} {path} ({r.status_code})", r.content))
        arm.close()
    finally:
        srv.stop()
    assert canary_cli.encode() in allowed[0][1]
    assert canary_api.encode() in allowed[1][1]
    assert canary_vault.encode() in allowed[2][1]

    for path in sorted(srv.data_dir.rglob("*")):
        if path.is_file():
            scanned.append((str(path), path.read_bytes()))
    log = srv.log_path.read_bytes()
    assert b"DEBUG" in log  # the server really logged at debug level
    scanned.append(("server log", log))
    if db:
        engine = sa.create_engine(db)
        with engine.connect() as conn:
            for table in sa.inspect(engine).get_table_names():
                rows = conn.execute(sa.text(f'SELECT * FROM "{table}"')).fetchall()
                scanned.append((f"table {table}", repr(rows).encode()))
        engine.dispose()
        drop_pg_database(db)

    leaks = [where for where, data in scanned for c in canaries if c in data]
    assert not leaks, f"canary found in: {leaks}"
    assert len(scanned) > 30
