"""Publishing against the real CNCF Distribution registry of ``iotops serve --dev`` (HTTPS,
ACR-like token service, repository tokens), checked by the peers: what ``iotops`` pushes,
skopeo (``inspect --raw``, ``copy`` to an OCI layout), oras-py and umoci read back with equal
digests and the right media types; what oras-py pushes as the docs show, ``iotops artifact
inspect`` recognises. Broken input pushes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from iotops_registry.cli import cli
from tests.support.dev import Dev, cert_dir, dev_clients, skopeo, unique
from tests.support.server import ServerProcess

DATA = Path(__file__).parent / "data"
GRAPH = DATA / "aio" / "graphs" / "explore-iot-operations__samples__wasm__graph-simple.yaml"
METADATA = DATA / "broken_metadata" / "valid.json"
WASM = b"\0asm\x01\x00\x00\x00" + b"\x00\x05\x04name" + os.urandom(1) * 0  # custom section
AIO_GRAPH = "application/vnd.microsoft.aio.graph.v1+yaml"
WASM_TYPE = "application/vnd.module.wasm.content.layer.v1+wasm"
AKRI = "application/vnd.microsoft.akri-connector.v1+json"


@dataclass
class Registry:
    dev: Dev
    team: str
    username: str
    password: str
    certs: str
    env: dict[str, str]

    @property
    def host(self) -> str:
        return self.dev.registry

    def ref(self, path: str) -> str:
        return f"{self.host}/{self.team}/{path}"

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """A real ``iotops`` process."""
        return subprocess.run([sys.executable, "-m", "iotops_registry", *args], input=stdin,
                              capture_output=True, text=True, env=self.env, timeout=120)

    def invoke(self, *args: str) -> Any:
        """The CLI in this process (for the many quick calls); credentials on stdin. In a
        thread of its own: the CLI runs its own event loop, and a test elsewhere in the
        session may leave one running on the main thread."""
        from concurrent.futures import ThreadPoolExecutor

        def call() -> Any:
            return CliRunner().invoke(
                cli, [*args, "-u", self.username, "--password-stdin", "--data-dir",
                      str(self.dev.server.data_dir), "--no-progress"],
                input=self.password + "\n", env={"DOCKER_CONFIG": self.env["DOCKER_CONFIG"]},
            )

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(call).result()

    def creds(self) -> str:
        return f"{self.username}:{self.password}"

    def raw_manifest(self, ref: str) -> bytes:
        done = skopeo("inspect", "--raw", "--creds", self.creds(), "--cert-dir", self.certs,
                      f"docker://{ref}")
        assert done.returncode == 0, done.stderr
        return done.stdout.encode()

    def token(self, repository: str) -> str:
        params = {"service": self.host, "scope": f"repository:{repository}:pull,push"}
        answer = self.dev.tls.get(f"{self.dev.token_url}/oauth2/token", params=params,
                                  auth=(self.username, self.password))
        return str(answer.json()["token"])


@pytest.fixture(scope="module")
def reg(dev_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with dev_clients(dev_server) as dev:
        team = unique("pub")
        user, password = dev.repository_token(f"{team}/*", ["pull", "push", "delete"])
        home = tmp_path_factory.mktemp("pub")
        docker = home / "docker"
        docker.mkdir()
        env = {**dev_server.cli_env(), "DOCKER_CONFIG": str(docker)}
        yield Registry(dev, team, user, password, str(cert_dir(dev_server, home / "certs")),
                       env)


def _team_graph(reg: Registry, where: Path, module: str = "temperature") -> Path:
    """graph-simple.yaml with its module in our team's repositories."""
    text = GRAPH.read_text().replace("azure-samples/explore-iot-operations/temperature",
                                     f"{reg.team}/{module}")
    path = where / "graph-simple.yaml"
    path.write_text(text)
    return path


def test_graph_push_is_read_back_by_skopeo_and_oras(reg: Registry, tmp_path: Path) -> None:
    graph = _team_graph(reg, tmp_path)
    module = tmp_path / "temperature.wasm"
    module.write_bytes(WASM)
    done = reg.run("graph", "push", str(graph), "--to", reg.ref("graph-simple:1.0.0"),
                   "--module", f"{reg.team}/temperature:1.0.0={module}", "-u", reg.username,
                   "--password-stdin", "--source", "https://example.test/repo",
                   stdin=reg.password + "\n")
    assert done.returncode == 0, done.stderr
    pushed = {p["kind"]: p for p in json.loads(done.stdout)}
    assert pushed["graph"]["reference"] == reg.ref("graph-simple:1.0.0")

    raw = reg.raw_manifest(reg.ref("graph-simple:1.0.0"))
    assert f"sha256:{hashlib.sha256(raw).hexdigest()}" == pushed["graph"]["digest"]
    manifest = json.loads(raw)
    assert manifest["config"]["mediaType"] == AIO_GRAPH and manifest["config"]["size"] == 0
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == "application/yaml"
    assert layer["annotations"]["org.opencontainers.image.title"] == "graph-simple.yaml"
    notes = manifest["annotations"]
    assert notes["org.opencontainers.image.version"] == "1.0.0"
    assert notes["org.opencontainers.image.source"] == "https://example.test/repo"
    assert notes["org.opencontainers.image.vendor"] == "Microsoft"
    assert "org.opencontainers.image.created" in notes

    raw_module = reg.raw_manifest(f"{reg.host}/{reg.team}/temperature:1.0.0")
    assert f"sha256:{hashlib.sha256(raw_module).hexdigest()}" == pushed["wasm-module"]["digest"]
    module_manifest = json.loads(raw_module)
    assert module_manifest["artifactType"] == WASM_TYPE
    assert module_manifest["layers"][0]["mediaType"] == "application/wasm"

    layout = tmp_path / "layout"
    copied = skopeo("copy", "--src-creds", reg.creds(), "--src-cert-dir", reg.certs,
                    f"docker://{reg.ref('graph-simple:1.0.0')}", f"oci:{layout}:1.0.0")
    assert copied.returncode == 0, copied.stderr
    index = json.loads((layout / "index.json").read_text())
    assert index["manifests"][0]["digest"] == pushed["graph"]["digest"]
    blob = layout / "blobs" / "sha256" / layer["digest"].split(":")[1]
    assert blob.read_bytes() == graph.read_bytes()

    import oras.provider

    client = oras.provider.Registry(reg.host, tls_verify=reg.dev.server.ca, auth_backend="token")
    client.auth.set_token_auth(reg.token(f"{reg.team}/graph-simple"))
    fetched = client.get_manifest(reg.ref("graph-simple:1.0.0"))
    assert fetched == manifest
    out = tmp_path / "oras-out"
    files = client.pull(target=reg.ref("graph-simple:1.0.0"), outdir=str(out))
    assert [Path(f).read_bytes() for f in files] == [graph.read_bytes()]


def test_oras_pushes_are_recognised(
    reg: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pushed by oras-py the way ORAS_COMMANDS.md shows: graph (§1.1), module (§2.2, the
    public GHCR way: no artifact type, the wasm-to-oci layer type) and metadata (§3.2)."""
    import oras.provider

    client = oras.provider.Registry(reg.host, tls_verify=reg.dev.server.ca, auth_backend="token")
    monkeypatch.chdir(tmp_path)  # oras-py pushes paths relative to the working directory
    shutil.copy(GRAPH, "graph.yaml")
    Path("module.wasm").write_bytes(WASM)
    shutil.copy(METADATA, "connector-metadata.json")
    pushes = [
        ("o-graph", ["graph.yaml:application/yaml"], f"/dev/null:{AIO_GRAPH}", "graph"),
        ("o-module", ["module.wasm:application/vnd.wasm.content.layer.v1+wasm"], None,
         "wasm-module"),
        ("o-meta", ["connector-metadata.json:application/json"], f"/dev/null:{AKRI}",
         "connector-metadata"),
    ]
    for repo, files, config, kind in pushes:
        client.auth.set_token_auth(reg.token(f"{reg.team}/{repo}"))
        answer = client.push(reg.ref(f"{repo}:1.0.0"), files=files, manifest_config=config,
                             disable_path_validation=True)
        assert answer.status_code == 201
        result = reg.invoke("artifact", "inspect", reg.ref(f"{repo}:1.0.0"))
        assert result.exit_code == 0, result.output
        doc = json.loads(result.output)
        assert doc["kind"] == kind, doc
        raw = reg.raw_manifest(reg.ref(f"{repo}:1.0.0"))
        assert doc["digest"] == f"sha256:{hashlib.sha256(raw).hexdigest()}"


def test_broken_graphs_push_nothing(reg: Registry, tmp_path: Path) -> None:
    broken = sorted((DATA / "broken_graphs").glob("*.yaml"))
    for path in broken:
        target = reg.ref(f"broken-{path.stem[:2]}:1.0.0")
        result = reg.invoke("graph", "push", str(path), "--to", target)
        assert result.exit_code == 1, (path.name, result.output)
        assert "nothing was pushed" in result.output
        assert f"{path.name}:" in result.output
    # A valid graph whose module is neither given nor in the registry: refused before any
    # upload, naming the module's line.
    graph = _team_graph(reg, tmp_path, "missing")
    result = reg.invoke("graph", "push", str(graph), "--to", reg.ref("unresolved:1.0.0"))
    assert result.exit_code == 1
    assert "graph-simple.yaml:" in result.output and "operations[1].module" in result.output
    assert f"{reg.team}/missing:1.0.0" in result.output
    # And a module file that is not WebAssembly.
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"#!/bin/sh\n")
    result = reg.invoke("graph", "push", str(graph), "--to", reg.ref("unresolved:1.0.0"),
                        "--module", f"{reg.team}/missing:1.0.0={bad}")
    assert result.exit_code == 1 and "not a WebAssembly binary" in result.output
    for repo in [f"broken-{p.stem[:2]}" for p in broken] + ["unresolved", "missing"]:
        listed = reg.invoke("artifact", "tags", reg.ref(repo))
        assert listed.exit_code == 1 and "NAME_UNKNOWN" in listed.output, listed.output


def test_broken_metadata_pushes_nothing(reg: Registry, tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "run").write_text("#!/bin/sh\n")
    for path in sorted((DATA / "broken_metadata").glob("[0-9]*.json")):
        result = reg.invoke("connector", "push", "--metadata", str(path), "--from-dir",
                            str(tmp_path / "app"), "--entrypoint", "/run",
                            "--to", reg.ref("connectors/rest-connector:9.9.9"))
        assert result.exit_code == 1 and f"{path.name}:" in result.output, result.output
    # The metadata names another image than the one pushed: refused, nothing pushed.
    result = reg.invoke("connector", "push", "--metadata", str(METADATA), "--from-dir",
                        str(tmp_path / "app"), "--entrypoint", "/run",
                        "--to", reg.ref("other/connector:1.0.0"))
    assert result.exit_code == 1 and "imageConfigurationSettings.imageName" in result.output
    for repo in ("connectors/rest-connector", "other/connector"):
        assert reg.invoke("artifact", "tags", reg.ref(repo)).exit_code == 1


def test_connector_from_dir_unpacks_with_umoci(reg: Registry, tmp_path: Path) -> None:
    assert shutil.which("umoci"), "umoci is missing: run scripts/test.sh (it installs it)"
    root = tmp_path / "publish"
    (root / "app" / "conf").mkdir(parents=True)
    (root / "app" / "connector").write_text("#!/bin/sh\nexec echo connector\n")
    (root / "app" / "connector").chmod(0o755)
    (root / "app" / "conf" / "settings.json").write_text('{"poll": 5}')
    target = reg.ref("connectors/rest-connector:1.0.0")
    done = reg.run("connector", "push", "--metadata", str(METADATA), "--from-dir", str(root),
                   "--entrypoint", "/app/connector --config /app/conf/settings.json",
                   "--to", target, "-u", reg.username, "--password-stdin",
                   stdin=reg.password + "\n")
    assert done.returncode == 0, done.stderr
    pushed = {p["kind"]: p for p in json.loads(done.stdout)}
    assert pushed["connector-metadata"]["reference"] == reg.ref(
        "connectors/rest-connector-metadata:1.0.0")

    layout = tmp_path / "layout"
    copied = skopeo("copy", "--src-creds", reg.creds(), "--src-cert-dir", reg.certs,
                    f"docker://{target}", f"oci:{layout}:1.0.0")
    assert copied.returncode == 0, copied.stderr
    bundle = tmp_path / "bundle"
    unpacked = subprocess.run(["umoci", "unpack", "--rootless", "--image", f"{layout}:1.0.0",
                               str(bundle)], capture_output=True, text=True, timeout=120)
    assert unpacked.returncode == 0, unpacked.stderr
    rootfs = bundle / "rootfs"
    assert (rootfs / "app" / "connector").read_text().startswith("#!/bin/sh")
    assert os.access(rootfs / "app" / "connector", os.X_OK)
    assert (rootfs / "app" / "conf" / "settings.json").read_text() == '{"poll": 5}'
    runtime = json.loads((bundle / "config.json").read_text())
    assert runtime["process"]["args"] == ["/app/connector", "--config", "/app/conf/settings.json"]

    image = json.loads(reg.raw_manifest(target))
    config_raw = (layout / "blobs" / "sha256" / image["config"]["digest"][7:]).read_text()
    assert json.loads(config_raw)["architecture"] == "amd64"
    assert image["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"

    meta_raw = reg.raw_manifest(pushed["connector-metadata"]["reference"])
    meta = json.loads(meta_raw)
    assert meta["config"]["mediaType"] == AKRI and meta["layers"][0]["mediaType"] == (
        "application/json")
    pulled = reg.invoke("artifact", "pull", pushed["connector-metadata"]["reference"], "-O",
                        str(tmp_path / "meta"))
    assert pulled.exit_code == 0, pulled.output
    document = json.loads((tmp_path / "meta" / "valid.json").read_text())
    assert document["imageConfigurationSettings"] == {
        "imageName": "connectors/rest-connector", "digest": pushed["image"]["digest"]}


def _layout_from_bundle(path: Path, bundle: Any, tag: str) -> None:
    """Write a bundle as an OCI layout (what `docker buildx --output type=oci` makes)."""
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    for descriptor, content in bundle.blobs.values():
        data = content if isinstance(content, bytes) else content.path.read_bytes()
        (blobs / descriptor.digest.hex).write_bytes(data)
    for manifest in bundle.manifests:
        (blobs / manifest.digest.hex).write_bytes(manifest.data)
    top = bundle.top
    (path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": top.media_type, "digest": str(top.digest), "size": len(top.data),
        "annotations": {"org.opencontainers.image.ref.name": tag}}]}))


def test_connector_image_from_layout_keeps_every_platform(reg: Registry, tmp_path: Path) -> None:
    from iotops_registry.packaging import build_image, parse_platform

    root = tmp_path / "root"
    root.mkdir()
    (root / "connector").write_text("binary")
    platforms = [parse_platform("linux/amd64"), parse_platform("linux/arm64")]
    with build_image(root, "/connector", platforms) as built:
        _layout_from_bundle(tmp_path / "oci", built.bundle, "1.0.0")
        index_digest = str(built.bundle.top.digest)
    meta = json.loads(METADATA.read_text())
    meta["supportedArchitectures"] = ["linux/amd64", "linux/arm64"]
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    result = reg.invoke("connector", "push", "--metadata", str(tmp_path / "meta.json"),
                        "--image", f"{tmp_path / 'oci'}:1.0.0",
                        "--to", reg.ref("connectors/rest-connector:2.0.0"))
    assert result.exit_code == 1 and "tag" in result.output  # metadata says 1.0.0
    result = reg.invoke("connector", "push", "--metadata", str(tmp_path / "meta.json"),
                        "--image", f"{tmp_path / 'oci'}:1.0.0",
                        "--to", reg.ref("connectors/rest-connector:1.0.0"))
    assert result.exit_code == 0, result.output
    raw = reg.raw_manifest(reg.ref("connectors/rest-connector:1.0.0"))
    assert f"sha256:{hashlib.sha256(raw).hexdigest()}" == index_digest
    index = json.loads(raw)
    assert [m["platform"]["architecture"] for m in index["manifests"]] == ["amd64", "arm64"]
    for child in index["manifests"]:
        reg.raw_manifest(f"{reg.ref('connectors/rest-connector')}@{child['digest']}")


def test_docker_archive_is_pushed_as_it_is(reg: Registry, tmp_path: Path) -> None:
    layer = tmp_path / "layer.tar"
    with tarfile.open(layer, "w") as tar:
        (tmp_path / "hello").write_text("hello")
        tar.add(tmp_path / "hello", arcname="hello")
    diff_id = "sha256:" + hashlib.sha256(layer.read_bytes()).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {
        "Entrypoint": ["/hello"]}, "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    archive = tmp_path / "image.tar"
    with tarfile.open(archive, "w") as tar:
        for name, data in (("config.json", config), ("abc/layer.tar", layer.read_bytes()),
                           ("manifest.json", json.dumps([{
                               "Config": "config.json", "RepoTags": ["hello:1"],
                               "Layers": ["abc/layer.tar"]}]).encode())):
            (tmp_path / "member").write_bytes(data)
            tar.add(tmp_path / "member", arcname=name)
    result = reg.invoke("artifact", "copy", f"docker-archive:{archive}", reg.ref("hello:1"))
    assert result.exit_code == 0, result.output
    manifest = json.loads(reg.raw_manifest(reg.ref("hello:1")))
    assert manifest["layers"][0]["digest"] == diff_id
    assert manifest["config"]["digest"] == "sha256:" + hashlib.sha256(config).hexdigest()


def test_copy_keeps_types_annotations_and_signatures(reg: Registry, tmp_path: Path) -> None:
    import asyncio

    from iotops_registry.authn import BasicCredential, StaticBasic
    from iotops_registry.oci import Descriptor, Digest
    from iotops_registry.packaging import Publisher, artifacts
    from iotops_registry.remote import RegistryClient

    graph = tmp_path / "graph.yaml"
    shutil.copy(GRAPH, graph)
    source = reg.ref("mcr-mirror/graph-simple:1.0.0")
    assert reg.invoke("artifact", "push", source, f"{graph}:application/yaml", "--config",
                      f"/dev/null:{AIO_GRAPH}", "-a", "team=edge").exit_code == 0
    original = reg.raw_manifest(source)

    async def sign() -> str:
        import ssl

        verify = ssl.create_default_context(cafile=reg.dev.server.ca)
        auth = StaticBasic(BasicCredential(reg.username, reg.password))
        async with RegistryClient(reg.host, authenticator=auth, verify=verify) as client:
            subject = Descriptor("application/vnd.oci.image.manifest.v1+json",
                                 Digest.of(original), len(original))
            bundle = artifacts.artifact_bundle(
                [(Descriptor("application/jose+json", Digest.of(b"sig"), 3), b"sig")],
                artifact_type="application/vnd.cncf.notary.signature", subject=subject)
            digest = await Publisher(client).push(f"{reg.team}/mcr-mirror/graph-simple", None,
                                                  bundle)
            return str(digest)

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # a loop of its own (see Registry.invoke)
        signature = pool.submit(asyncio.run, sign()).result()
    mirror = reg.ref("private/graph-simple:1.0.0")
    result = reg.invoke("artifact", "copy", source, mirror)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["referrers"] == [signature]
    assert reg.raw_manifest(mirror) == original
    inspected = json.loads(reg.invoke("artifact", "inspect", mirror).output)
    assert inspected["kind"] == "graph" and inspected["annotations"]["team"] == "edge"
    assert [r["digest"] for r in inspected["referrers"]] == [signature]
    assert inspected["referrers"][0]["artifactType"] == "application/vnd.cncf.notary.signature"

    deleted = reg.invoke("artifact", "delete", mirror, "-y")
    assert deleted.exit_code == 0, deleted.output
    gone = reg.invoke("artifact", "inspect", mirror)
    assert gone.exit_code == 1


def test_a_large_file_is_hashed_while_it_uploads(reg: Registry, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with big.open("wb") as handle:
        for _ in range(40):
            handle.write(os.urandom(1 << 20))
    ref = reg.ref("big:1")
    result = reg.invoke("artifact", "push", ref, f"{big}:application/octet-stream")
    assert result.exit_code == 0, result.output
    manifest = json.loads(reg.raw_manifest(ref))
    assert manifest["layers"][0]["digest"] == "sha256:" + hashlib.sha256(
        big.read_bytes()).hexdigest()
    pulled = reg.invoke("artifact", "pull", ref, "-O", str(tmp_path / "out"))
    assert pulled.exit_code == 0 and (tmp_path / "out" / "big.bin").read_bytes() == (
        big.read_bytes())
    _ = httpx  # the module is imported for type checkers of the fixtures above


def test_connector_push_sign_signs_image_and_metadata(reg: Registry, tmp_path: Path) -> None:
    from iotops_registry.notary import create_dev_ca
    from iotops_registry.packaging import build_image, parse_platform

    made = create_dev_ca()
    key, chain, ca = tmp_path / "k.pem", tmp_path / "chain.pem", tmp_path / "ca.pem"
    key.write_bytes(made.leaf_key_pem())
    chain.write_bytes(made.chain_pem())
    ca.write_bytes(made.ca_pem())
    root = tmp_path / "root"
    root.mkdir()
    (root / "connector").write_text("binary")
    with build_image(root, "/connector", [parse_platform("linux/amd64")]) as built:
        _layout_from_bundle(tmp_path / "oci", built.bundle, "1.0.0")
    meta = json.loads(METADATA.read_text())
    meta["supportedArchitectures"] = ["linux/amd64"]
    meta["imageConfigurationSettings"]["tag"] = "1.0.0-signed"
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    target = reg.ref("connectors/rest-connector:1.0.0-signed")
    result = reg.invoke("connector", "push", "--metadata", str(tmp_path / "meta.json"),
                        "--image", f"{tmp_path / 'oci'}:1.0.0", "--to", target,
                        "--sign", "--key", str(key), "--cert", str(chain))
    assert result.exit_code == 0, result.output
    pushed = json.loads(result.stdout)
    assert len(pushed) == 2 and all(p["signature"] for p in pushed)
    for item in pushed:
        verified = reg.run("artifact", "verify", f"{item['reference'].rsplit(':', 1)[0]}@"
                           f"{item['digest']}", "--ca-file", str(ca), "-u", reg.username,
                           "--password-stdin", "--data-dir", str(reg.dev.server.data_dir),
                           stdin=reg.password + "\n")
        assert verified.returncode == 0, verified.stderr
        assert json.loads(verified.stdout)["code"] == "Verified"
