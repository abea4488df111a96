"""``iotops artifact``: any OCI artifact, like ``oras``: push, pull, copy, tags, inspect, delete."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from .errors import CliError
from .lazy import LazyGroup
from .options import OutputOptions, output_options
from .output import emit
from .prompt import confirm_delete
from .publishing import RegistryOptions, open_client, parse_reference, registry_options, run

__all__ = ["artifact"]


@click.group(cls=LazyGroup, lazy={"sign": "signing:sign", "verify": "signing:verify"})
def artifact() -> None:
    """Generic OCI artifacts: push files, pull them, copy between registries, list tags,
    inspect what a reference is, delete; sign and verify Notary Project signatures.

    `copy` keeps manifests byte for byte (config media types, artifact types, annotations,
    digests) and brings the referrers (signatures) along, so a mirrored graph is still a
    graph.
    """


# ---------------------------------------------------------------------------------------
# push / pull


def _file_spec(spec: str) -> tuple[Path, str]:
    """``FILE[:MEDIA/TYPE]`` (as oras); a suffix without a slash is part of the path."""
    path, sep, media_type = spec.rpartition(":")
    if sep and "/" in media_type and path:
        return Path(path), media_type
    return Path(spec), "application/vnd.oci.image.layer.v1.tar"


def _annotations(pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r}: expected KEY=VALUE", param_hint="--annotation")
        out[key] = value
    return out


@artifact.command("push")
@click.argument("reference", metavar="HOST[:PORT]/REPO[:TAG]")
@click.argument("files", nargs=-1, metavar="FILE[:MEDIA_TYPE]...")
@click.option("--artifact-type", metavar="TYPE",
              help="The manifest's artifactType, e.g. "
                   "application/vnd.module.wasm.content.layer.v1+wasm.")
@click.option("--config", "config", metavar="FILE:MEDIA_TYPE",
              help="Config blob and its media type, e.g. "
                   "/dev/null:application/vnd.microsoft.aio.graph.v1+yaml [default: {} as "
                   "application/vnd.oci.empty.v1+json].")
@click.option("-a", "--annotation", "annotations", multiple=True, metavar="KEY=VALUE",
              help="Manifest annotation (repeatable).")
@registry_options
@output_options
def push(reference: str, files: tuple[str, ...], artifact_type: str | None,
         config: str | None, annotations: tuple[str, ...], reg: RegistryOptions,
         out: OutputOptions) -> None:
    """Push files as one artifact; each layer is titled with its file name.

    No IoT Operations rules are checked here: use `iotops graph push` and `iotops
    connector push` for those. A large file is hashed while it uploads (read once).

    \b
    Examples:
      iotops artifact push myacr.azurecr.io/temperature:1.0.0 temperature.wasm:application/wasm \\
          --artifact-type application/vnd.module.wasm.content.layer.v1+wasm
      iotops artifact push 127.0.0.1:5000/graph-simple:1.0.0 graph-simple.yaml:application/yaml \\
          --config /dev/null:application/vnd.microsoft.aio.graph.v1+yaml
    """
    from ..packaging import Publisher, image_annotations

    target = parse_reference(reference)
    specs = [_file_spec(f) for f in files]
    for path, _ in specs:
        if not path.is_file():
            raise click.BadParameter(f"{path} is not a file", param_hint="FILE")
    config_blob: tuple[bytes, str] | None = None
    if config is not None:
        path, media_type = _file_spec(config)
        if ":" not in config or "/" not in media_type:
            raise click.BadParameter("expected FILE:MEDIA_TYPE", param_hint="--config")
        config_blob = (path.read_bytes(), media_type)
    notes = image_annotations(extra=_annotations(annotations))

    async def main() -> dict[str, Any]:
        from .progress import TransferDisplay

        client = open_client(target.registry, reg)
        with TransferDisplay(f"push {target}", reg.progress) as display:
            publisher = Publisher(client, concurrency=reg.concurrency, progress=display)
            manifest = await publisher.push_files(
                target.repository, target.tag, specs, artifact_type=artifact_type,
                config=config_blob, annotations=notes,
            )
        return {"reference": str(target), "digest": str(manifest.digest),
                "mediaType": manifest.media_type}

    emit(run(main()), out)


@artifact.command("pull")
@click.argument("reference", metavar="HOST[:PORT]/REPO[:TAG|@DIGEST]")
@click.option("-O", "--output-dir", "directory", default=".", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Where the files go, named by their titles.")
@click.option("--signing-ca-file", "signing_cas", multiple=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Pull only if a Notary signature verifies against these code-signing CAs "
                   "(repeatable).")
@click.option("--registry-endpoint", metavar="NAME",
              help="Pull only if this endpoint's signature policy allows the artifact (the "
                   "server verifies it against the endpoint's code-signing CAs); needs -i "
                   "and -g.")
@click.option("-i", "--instance", help="Instance of --registry-endpoint.")
@click.option("-g", "--resource-group", help="Resource group of --registry-endpoint.")
@registry_options
@output_options
def pull(reference: str, directory: Path, signing_cas: tuple[Path, ...],
         registry_endpoint: str | None, instance: str | None, resource_group: str | None,
         reg: RegistryOptions, out: OutputOptions) -> None:
    """Download every layer of an artifact, verified against its digest.

    With --signing-ca-file or --registry-endpoint the tag is resolved to a digest, the
    digest's signatures are checked first, and exactly that digest is pulled (nothing is
    written if the check refuses it).

    \b
    Examples:
      iotops artifact pull ghcr.io/azure-samples/explore-iot-operations/graph-simple:1.0.0 -O graphs
      iotops artifact pull 127.0.0.1:8447/graphs/demo:1.0.0 --signing-ca-file ca.pem
      iotops artifact pull 127.0.0.1:8447/graphs/demo:1.0.0 --registry-endpoint dev -i inst -g rg
    """
    from ..packaging import Publisher

    source = parse_reference(reference)
    if signing_cas and registry_endpoint:
        raise click.UsageError("give --signing-ca-file or --registry-endpoint, not both")
    if registry_endpoint and (not instance or not resource_group):
        raise click.UsageError("--registry-endpoint needs -i/--instance and -g/--resource-group")

    async def main() -> dict[str, Any]:
        from .progress import TransferDisplay

        client = open_client(source.registry, reg)
        ref: str = source.ref
        check: dict[str, Any] | None = None
        if signing_cas or registry_endpoint:
            descriptor = await client.head_manifest(source.repository, source.ref)
            ref = str(descriptor.digest)
            pinned = f"{source.registry}/{source.repository}@{ref}"
            if signing_cas:
                check = await _verify_locally(client, source.repository, descriptor,
                                              signing_cas)
            else:
                assert registry_endpoint and instance and resource_group
                check = await asyncio.to_thread(_ask_endpoint, pinned, registry_endpoint,
                                                instance, resource_group, reg)
        with TransferDisplay(f"pull {source}", reg.progress) as display:
            publisher = Publisher(client, concurrency=reg.concurrency, progress=display)
            manifest, files = await publisher.pull(source.repository, ref, directory)
        listed = [{"path": str(p), "digest": str(d.digest), "size": d.size,
                   "mediaType": d.media_type} for p, d in files]
        result: dict[str, Any] = {"reference": str(source), "digest": str(manifest.digest),
                                  "files": listed}
        if check is not None:
            result["signature"] = check
        return result

    emit(run(main()), out)


async def _verify_locally(client: Any, repository: str, descriptor: Any,
                          cas: tuple[Path, ...]) -> dict[str, Any]:
    from ..errors import TrustStoreInvalid
    from ..notary import TrustStore, verify

    try:
        store = TrustStore.from_files(cas)
    except TrustStoreInvalid as exc:
        raise CliError(exc.message) from None
    store = store.merged(TrustStore(signing_authority=store.ca))
    verdict = await verify(client, repository, descriptor, store)
    if not verdict.ok:
        raise CliError(f"({verdict.code}) {verdict.message}; nothing was pulled.")
    return {"decision": "Allowed", "code": str(verdict.code),
            "signer": verdict.signature.signer if verdict.signature else None}


def _ask_endpoint(pinned: str, endpoint: str, instance: str, rg: str,
                  reg: RegistryOptions) -> dict[str, Any]:
    import os

    from ..config import default_data_dir
    from .client import connect, endpoint_path
    from .options import ConnectionOptions

    conn = ConnectionOptions(reg.data_dir or default_data_dir(), os.environ.get("IOTOPS_SERVER"),
                             None, os.environ.get("IOTOPS_SUBSCRIPTION"))
    with connect(conn) as arm:
        path = endpoint_path(arm.subscription, rg, instance, endpoint) + "/verifyArtifact"
        body = arm.request("POST", path, body={"artifact": pinned}).body
    if not isinstance(body, dict) or body.get("decision") != "Allowed":
        code = body.get("code") if isinstance(body, dict) else None
        message = body.get("message") if isinstance(body, dict) else None
        raise CliError(f"({code}) {message}; nothing was pulled.")
    if body.get("verification") != "Checked":
        click.echo(f"WARNING: not verified: {body.get('message')}", err=True)
    return {key: body.get(key) for key in ("decision", "policy", "code", "signer")}


# ---------------------------------------------------------------------------------------
# copy


@artifact.command("copy")
@click.argument("source", metavar="SOURCE")
@click.argument("destination", metavar="HOST[:PORT]/REPO[:TAG]")
@click.option("--referrers/--no-referrers", default=True, show_default=True,
              help="Also copy what refers to the artifact (signatures, SBOMs).")
@registry_options
@output_options
def copy(source: str, destination: str, referrers: bool, reg: RegistryOptions,
         out: OutputOptions) -> None:
    """Copy an artifact, image or index between registries (or repositories), unchanged.

    SOURCE is a reference (HOST/REPO:TAG or @DIGEST), or oci:LAYOUT-DIR[:TAG] or
    docker-archive:FILE.tar[:TAG]. Manifests keep their bytes, so digests, config media
    types, artifact types and annotations survive; within one registry blobs are mounted,
    not copied. The destination tag defaults to the source's.

    \b
    Examples:
      iotops artifact copy mcr.microsoft.com/azureiotoperations/graph-dataflow-map:1.0.0 \\
          myacr.azurecr.io/azureiotoperations/graph-dataflow-map:1.0.0
      iotops artifact copy oci:./build/layout:1.0.0 127.0.0.1:5000/connector:1.0.0
    """
    from ..packaging import Copier, Publisher, read_image

    target = parse_reference(destination, "DESTINATION")
    local = None
    for prefix in ("oci:", "docker-archive:"):
        if source.startswith(prefix):
            local = source[len(prefix):]

    async def main() -> dict[str, Any]:
        from .progress import TransferDisplay

        dst = open_client(target.registry, reg)
        with TransferDisplay(f"copy to {target}", reg.progress) as display:
            if local is not None:
                bundle = read_image(local)  # InvalidArtifact: reported by run()
                publisher = Publisher(dst, concurrency=reg.concurrency, progress=display)
                digest = await publisher.push(target.repository, target.tag, bundle)
                return {"source": source, "reference": str(target), "digest": str(digest),
                        "manifests": len(bundle.manifests), "referrers": []}
            src_ref = parse_reference(source, "SOURCE")
            src = dst if src_ref.registry == target.registry else open_client(
                src_ref.registry, reg)
            copier = Copier(src, dst, concurrency=reg.concurrency, progress=display)
            tag = target.tag or (src_ref.tag if target.digest is None else None)
            result = await copier.copy(src_ref.repository, src_ref.ref, target.repository,
                                       tag, referrers=referrers)
        return {"source": str(src_ref), "reference": str(target), "digest": str(result.digest),
                "manifests": result.manifests, "blobsCopied": result.blobs_copied,
                "blobsMounted": result.blobs_mounted, "blobsPresent": result.blobs_present,
                "referrers": result.referrers}

    emit(run(main()), out)


# ---------------------------------------------------------------------------------------
# tags / inspect / delete


@artifact.command("tags")
@click.argument("repository", metavar="HOST[:PORT]/REPO")
@registry_options
@output_options
def tags(repository: str, reg: RegistryOptions, out: OutputOptions) -> None:
    """List a repository's tags.

    \b
    Example:
      iotops artifact tags myacr.azurecr.io/graph-simple -o tsv
    """
    ref = parse_reference(repository, "REPOSITORY")

    async def main() -> list[str]:
        return await open_client(ref.registry, reg).list_tags(ref.repository)

    emit(run(main()), out)


def _describe(manifest: Any) -> dict[str, Any]:
    from ..oci import Index
    from ..packaging import classify, stripped

    doc: dict[str, Any] = {"kind": classify(manifest), "mediaType": manifest.media_type,
                           "artifactType": manifest.artifact_type,
                           "annotations": dict(manifest.annotations)}
    if isinstance(manifest, Index):
        doc["manifests"] = [
            {"digest": str(m.digest), "mediaType": m.media_type, "size": m.size,
             "platform": m.platform.to_dict() if m.platform else None}
            for m in manifest.manifests
        ]
    else:
        doc["configMediaType"] = manifest.config.media_type
        doc["layers"] = [
            {"digest": str(layer.digest), "mediaType": layer.media_type, "size": layer.size,
             "title": layer.annotations.get("org.opencontainers.image.title")}
            for layer in manifest.layers
        ]
        if manifest.subject is not None:
            doc["subject"] = str(manifest.subject.digest)
    if stripped(manifest):
        doc["warning"] = ("a YAML artifact without the graph config media type: the "
                          "operations experience will not list it as a graph")
    return doc


@artifact.command("inspect")
@click.argument("reference", metavar="HOST[:PORT]/REPO[:TAG|@DIGEST]")
@registry_options
@output_options
def inspect(reference: str, reg: RegistryOptions, out: OutputOptions) -> None:
    """Show what a reference is — graph, wasm-module, connector-metadata, image, index,
    signature or artifact — with its digest, media types, layers and referrers.

    \b
    Example:
      iotops artifact inspect myacr.azurecr.io/graph-simple:1.0.0 --query kind
    """
    ref = parse_reference(reference)

    async def main() -> dict[str, Any]:
        client = open_client(ref.registry, reg)
        fetched = await client.get_manifest(ref.repository, ref.ref)
        doc = {"reference": str(ref), "digest": str(fetched.digest), "size": len(fetched.data),
               **_describe(fetched.parse())}
        found = await client.referrers(ref.repository, fetched.digest)
        doc["referrers"] = [{"digest": str(d.digest), "artifactType": d.artifact_type,
                             "mediaType": d.media_type} for d in found]
        return doc

    emit(run(main()), out)


@artifact.command("delete")
@click.argument("reference", metavar="HOST[:PORT]/REPO[:TAG|@DIGEST]")
@click.option("-y", "--yes", is_flag=True, help="Do not prompt for confirmation.")
@registry_options
@output_options
def delete(reference: str, yes: bool, reg: RegistryOptions, out: OutputOptions) -> None:
    """Delete a manifest. A tag is resolved to its digest first, and the registry removes
    the manifest with every tag that points at it.

    \b
    Example:
      iotops artifact delete myacr.azurecr.io/graph-simple:0.9.0 -y
    """
    ref = parse_reference(reference)
    confirm_delete(f"Delete {ref} (and every tag of the same digest)?", yes)

    async def main() -> dict[str, Any]:
        client = open_client(ref.registry, reg)
        digest = ref.digest or (await client.head_manifest(ref.repository, ref.ref)).digest
        await client.delete_manifest(ref.repository, digest)
        return {"reference": str(ref), "digest": str(digest), "deleted": True}

    emit(run(main()), out)

