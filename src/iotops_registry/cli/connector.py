"""``iotops connector validate|push``: Akri connector metadata and the connector's image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .errors import CliError
from .lazy import LazyGroup
from .options import OutputOptions, output_options
from .output import emit
from .publishing import (
    ArtifactError,
    RegistryOptions,
    open_client,
    parse_reference,
    registry_options,
    run,
)
from .signing_push import SignOptions, sign_options, sign_pushed

__all__ = ["connector"]


def _load(file: Path) -> Any:
    from ..packaging import validate_metadata

    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"Cannot read {file}: {exc}") from None
    return validate_metadata(text, file.name)


# list and show browse the catalog (cli/catalog.py); template manages connector templates.
@click.group(cls=LazyGroup, lazy={"list": "catalog:connector_list",
                                  "show": "catalog:connector_show",
                                  "template": "connector_template:template"})
def connector() -> None:
    """Akri connector metadata and images: validate the metadata, push both together.

    The metadata is checked against the published JSON schema its $schema names
    (aio-connector-metadata 5.0- to 11.0-preview), and pushed with the config media type
    IoT Operations recognises connector metadata by. Discovery-handler images are pushed
    the same way.
    """


@connector.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@output_options
def validate(file: Path, out: OutputOptions) -> None:
    """Check a connector metadata file; every problem names the file, line and JSON path.

    \b
    Example:
      iotops connector validate connector-metadata.json
    """
    from ..errors import InvalidArtifact

    try:
        meta = _load(file)
    except InvalidArtifact as exc:
        emit({"file": str(file), "valid": False,
              "problems": [p.to_dict() for p in exc.problems]}, out)
        raise ArtifactError(exc) from None
    emit({"file": str(file), "valid": True, "name": meta.name, "version": meta.version,
          "schemaVersion": f"{meta.schema_version}-preview",
          "problems": [p.to_dict() for p in meta.warnings]}, out)
    for warning in meta.warnings:
        click.echo(f"WARNING: {warning}", err=True)


@connector.command("push")
@click.option("--metadata", "metadata", required=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="The connector metadata JSON file.")
@click.option("--image", metavar="LAYOUT-DIR[:TAG] | ARCHIVE.tar[:TAG]",
              help="The image as an OCI layout or a docker-archive (docker save), pushed as "
                   "it is: every platform of an index, the same digests.")
@click.option("--from-dir", "from_dir", type=click.Path(file_okay=False, exists=True,
                                                        path_type=Path),
              help="Build the image from this directory instead: one gzip layer, a config "
                   "with --entrypoint, one platform per supportedArchitectures entry.")
@click.option("--entrypoint", metavar="CMD", help="With --from-dir: the entrypoint, e.g. "
                                                  '"/app/connector --config /etc/c.json".')
@click.option("--to", "to", required=True, metavar="HOST[:PORT]/REPO:TAG",
              help="Where the image goes.")
@click.option("--metadata-to", "metadata_to", metavar="HOST[:PORT]/REPO:TAG",
              help="Where the metadata goes [default: HOST/REPO-metadata:TAG].")
@click.option("--source", metavar="URL", help="org.opencontainers.image.source annotation.")
@sign_options
@registry_options
@output_options
def push(
    metadata: Path,
    image: str | None,
    from_dir: Path | None,
    entrypoint: str | None,
    to: str,
    metadata_to: str | None,
    source: str | None,
    signing: SignOptions,
    reg: RegistryOptions,
    out: OutputOptions,
) -> None:
    """Validate the metadata, push the image, then the metadata naming it by digest.

    The metadata's imageConfigurationSettings must name the image being pushed (its
    repository, and its tag if it gives one); the pushed copy names the image by digest.

    \b
    Examples:
      iotops connector push --metadata connector-metadata.json --image ./oci:1.0.0 \\
          --to myacr.azurecr.io/rest-connector:1.0.0
      iotops connector push --metadata connector-metadata.json --from-dir ./publish \\
          --entrypoint /app/RestConnector --to 127.0.0.1:5000/rest-connector:1.0.0
    """
    from ..packaging import (
        Publisher,
        build_image,
        default_metadata_target,
        parse_platform,
        push_connector,
        read_image,
    )

    if (image is None) == (from_dir is None):
        raise click.UsageError("Give either --image or --from-dir.")
    if from_dir is not None and not entrypoint:
        raise click.UsageError("--from-dir needs --entrypoint.")
    target = parse_reference(to, "--to")
    identity = signing.identity()
    meta_target = (parse_reference(metadata_to, "--metadata-to") if metadata_to
                   else default_metadata_target(target))
    from ..errors import InvalidArtifact

    try:
        meta = _load(metadata)
        for warning in meta.warnings:
            click.echo(f"WARNING: {warning}", err=True)
        built = None
        if from_dir is not None:
            try:
                platforms = [parse_platform(a) for a in meta.architectures]
            except ValueError as exc:
                raise CliError(f"supportedArchitectures: {exc}") from None
            built = build_image(from_dir, entrypoint or "", platforms)
            bundle = built.bundle
        else:
            bundle = read_image(str(image))
    except InvalidArtifact as exc:
        raise ArtifactError(exc) from None

    async def main() -> list[dict[str, Any]]:
        from .progress import TransferDisplay

        client = open_client(target.registry, reg)
        clients = {target.registry: client}
        with TransferDisplay(f"push {target}", reg.progress) as display:
            publisher = Publisher(client, concurrency=reg.concurrency, progress=display)
            if meta_target.registry != target.registry:
                clients[meta_target.registry] = open_client(meta_target.registry, reg)
                other = Publisher(clients[meta_target.registry], progress=display)
                pushed = await push_connector(publisher, target, meta, bundle, meta_target,
                                              metadata_filename=metadata.name, source=source,
                                              metadata_publisher=other)
            else:
                pushed = await push_connector(publisher, target, meta, bundle, meta_target,
                                              metadata_filename=metadata.name, source=source)
        result: list[dict[str, Any]] = [p.to_dict() for p in pushed]
        if identity is not None:
            signed = await sign_pushed(pushed, clients, identity, signing)
            for row, sig in zip(result, signed, strict=True):
                row["signature"], row["signer"] = sig["signature"], sig["signer"]
        return result

    try:
        emit(run(main()), out)
    finally:
        if built is not None:
            built.cleanup()
