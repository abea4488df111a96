"""skopeo, a real registry client, against the development registry: the token dance
(challenge → realm → Basic → token) with repository tokens, push and pull over TLS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dev import Dev, cert_dir, dev_clients, oci_layout, skopeo, unique
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def dev(dev_server: ServerProcess) -> Iterator[Dev]:
    with dev_clients(dev_server) as clients:
        yield clients


def test_skopeo_pushes_with_push_token_and_pulls_with_pull_token(
    dev: Dev, tmp_path: Path
) -> None:
    team = unique("sk")
    repo = f"{team}/graph"
    certs = str(cert_dir(dev.server, tmp_path / "certs"))
    pusher = ":".join(dev.repository_token(f"{team}/*", ["pull", "push"]))
    puller = ":".join(dev.repository_token(repo, ["pull"]))
    layout = oci_layout(tmp_path / "src", "1.0.0", b"\0asm" + bytes(range(256)) * 64)
    ref = f"docker://{dev.registry}/{repo}:1.0.0"

    pushed = skopeo("copy", "--dest-creds", pusher, "--dest-cert-dir", certs,
                    f"oci:{layout.path}:1.0.0", ref)
    assert pushed.returncode == 0, pushed.stderr

    # A pull-only token cannot push, not even to its own repository.
    refused = skopeo("copy", "--dest-creds", puller, "--dest-cert-dir", certs,
                     f"oci:{layout.path}:1.0.0", f"docker://{dev.registry}/{repo}:other")
    assert refused.returncode != 0
    assert "denied" in refused.stderr or "unauthorized" in refused.stderr

    raw = skopeo("inspect", "--raw", "--creds", puller, "--cert-dir", certs, ref)
    assert raw.returncode == 0, raw.stderr
    manifest = json.loads(raw.stdout)
    assert manifest["layers"][0]["mediaType"] == "application/wasm"

    pulled = skopeo("copy", "--src-creds", puller, "--src-cert-dir", certs, ref,
                    f"oci:{tmp_path / 'dst'}:1.0.0")
    assert pulled.returncode == 0, pulled.stderr
    digest = manifest["layers"][0]["digest"].split(":")[1]
    assert (tmp_path / "dst" / "blobs" / "sha256" / digest).read_bytes() == layout.layer

    # Without credentials (anonymous pull is off) the registry refuses.
    anonymous = skopeo("inspect", "--raw", "--cert-dir", certs, ref)
    assert anonymous.returncode != 0
    # The token's patterns are all it can read.
    elsewhere = skopeo("inspect", "--raw", "--creds", pusher, "--cert-dir", certs,
                       f"docker://{dev.registry}/{unique('other')}/graph:1.0.0")
    assert elsewhere.returncode != 0 and "denied" in elsewhere.stderr
