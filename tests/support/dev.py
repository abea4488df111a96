"""Helpers for tests of the local Azure stand-ins (``iotops serve --dev``).

Everything here talks to the real server over its real origins: the ARM origin's
``/-/dev`` admin routes, the plain-HTTP identity endpoint, the token service and the
CNCF Distribution registry child.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from iotops_registry import LocalIssuerCredential
from tests.support.server import ServerProcess

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
ARM = "https://management.azure.com"
# Variables that would make ManagedIdentityCredential pick another source than IMDS.
_IDENTITY_ENV = (
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def use_imds(monkeypatch: pytest.MonkeyPatch, server: ServerProcess) -> None:
    """Point azure-identity (and MSAL, which reads the environment per request) at the
    server's identity endpoint, with nothing else in the way."""
    for name in list(os.environ):
        if name in _IDENTITY_ENV or name.startswith("AZURE_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", server.endpoints["identity"])


@dataclass
class Dev:
    """The dev server's admin API, token service and registry, for one test session."""

    server: ServerProcess
    admin: httpx.Client  # the ARM origin, with an ARM bearer token
    tls: httpx.Client  # no auth: the token service and the registry

    @property
    def registry(self) -> str:
        return str(self.server.endpoints["registry"])

    @property
    def token_url(self) -> str:
        return str(self.server.endpoints["token"])

    @property
    def tenant(self) -> str:
        return str(self.server.endpoints["tenant"])

    # --- admin ---------------------------------------------------------------------------

    def ok(self, resp: httpx.Response) -> Any:
        assert resp.status_code < 300, resp.text
        return resp.json() if resp.content else None

    def identity(self, name: str | None = None) -> dict[str, Any]:
        return dict(self.ok(self.admin.post("/-/dev/identities", json={"name": name or
                                                                       unique("mi")})))

    def system_identity(self) -> dict[str, Any]:
        return dict(self.ok(self.admin.get("/-/dev/system-identity")))

    def assign(self, assignee: str, role: str = "AcrPull") -> None:
        body = {"assignee": assignee, "role": role}
        self.ok(self.admin.post("/-/dev/registry/role-assignments", json=body))

    def unassign(self, assignee: str, role: str = "AcrPull") -> None:
        self.ok(self.admin.delete(f"/-/dev/registry/role-assignments/{assignee}/{role}"))

    def repository_token(self, pattern: str, actions: list[str]) -> tuple[str, str]:
        body = {"name": unique("tok"), "scopes": [{"repository": pattern, "actions": actions}]}
        doc = self.ok(self.admin.post("/-/dev/registry/tokens", json=body))
        return str(doc["username"]), str(doc["password"])

    def anonymous_pull(self, enabled: bool) -> None:
        self.ok(self.admin.put("/-/dev/registry/anonymous-pull", json={"enabled": enabled}))

    def counters(self) -> dict[str, Any]:
        return dict(self.ok(self.admin.get("/-/dev/counters")))

    def count(self, target: str, key: str) -> int:
        return int(self.counters()[target]["byKey"].get(key, 0))

    def fault(self, target: str, status: int, count: int, retry_after: int | None = None) -> None:
        body: dict[str, Any] = {"target": target, "status": status, "count": count}
        if retry_after is not None:
            body["retryAfter"] = retry_after
        self.ok(self.admin.post("/-/dev/faults", json=body))

    # --- the ACR flow ----------------------------------------------------------------------

    def imds_token(self, resource: str = ARM, client_id: str | None = None) -> str:
        params = {"api-version": "2018-02-01", "resource": resource}
        if client_id:
            params["client_id"] = client_id
        resp = httpx.get(
            f"{self.server.endpoints['identity']}/metadata/identity/oauth2/token",
            params=params,
            headers={"Metadata": "true"},
        )
        return str(self.ok(resp)["access_token"])

    def exchange(self, access_token: str, tenant: str | None = None) -> httpx.Response:
        form = {
            "grant_type": "access_token",
            "service": self.registry,
            "tenant": tenant or self.tenant,
            "access_token": access_token,
        }
        return self.tls.post(f"{self.token_url}/oauth2/exchange", data=form)

    def refresh(self, access_token: str) -> str:
        return str(self.ok(self.exchange(access_token))["refresh_token"])

    def token_by_refresh(self, refresh_token: str, *scopes: str) -> httpx.Response:
        form = {
            "grant_type": "refresh_token",
            "service": self.registry,
            "scope": " ".join(scopes),
            "refresh_token": refresh_token,
        }
        return self.tls.post(f"{self.token_url}/oauth2/token", data=form)

    def token_by_get(
        self, *scopes: str, basic: tuple[str, str] | None = None
    ) -> httpx.Response:
        params: list[tuple[str, str | int | float | bool | None]] = [
            ("service", self.registry), *(("scope", s) for s in scopes)
        ]
        headers = {}
        if basic is not None:
            raw = f"{basic[0]}:{basic[1]}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        return self.tls.get(f"{self.token_url}/oauth2/token", params=params, headers=headers)

    def manifest(self, repository: str, tag: str, token: str | None) -> httpx.Response:
        headers = {"Accept": OCI_MANIFEST}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.tls.get(f"https://{self.registry}/v2/{repository}/manifests/{tag}",
                            headers=headers)


@contextmanager
def dev_clients(server: ServerProcess) -> Iterator[Dev]:
    verify = ssl.create_default_context(cafile=server.ca)
    arm_token = LocalIssuerCredential(server.data_dir).mint(ARM)
    with (
        httpx.Client(base_url=server.arm, verify=verify, timeout=30,
                     headers={"Authorization": f"Bearer {arm_token}"}) as admin,
        httpx.Client(verify=verify, timeout=30) as tls,
    ):
        yield Dev(server, admin, tls)


# --- OCI content and skopeo -------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    path: Path
    tag: str
    manifest_digest: str
    layer: bytes


def oci_layout(path: Path, tag: str, payload: bytes) -> Layout:
    """A one-layer OCI artifact (empty config, a WASM layer) in an OCI image layout."""
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def blob(data: bytes) -> dict[str, Any]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.module.wasm.content.layer.v1+wasm",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", **blob(b"{}")},
        "layers": [
            {
                "mediaType": "application/wasm",
                **blob(payload),
                "annotations": {"org.opencontainers.image.title": "module.wasm"},
            }
        ],
    }
    ref = blob(json.dumps(manifest).encode())
    (path / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    index = {
        "schemaVersion": 2,
        "manifests": [
            {"mediaType": OCI_MANIFEST, **ref,
             "annotations": {"org.opencontainers.image.ref.name": tag}}
        ],
    }
    (path / "index.json").write_text(json.dumps(index))
    return Layout(path, tag, str(ref["digest"]), payload)


def cert_dir(server: ServerProcess, where: Path) -> Path:
    """A directory skopeo reads trust from: ``ca.crt`` = the project's CA."""
    where.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(server.ca, where / "ca.crt")
    return where


def skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["skopeo", "--insecure-policy", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "REGISTRY_AUTH_FILE": os.devnull},
    )
