"""``iotops graph validate|push``: data flow graph definitions and their WASM modules."""

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

__all__ = ["graph"]

_SET_HELP = ("Fill a ${NAME} placeholder before validating, e.g. --set VERSION=1.2.0 "
             "(repeatable), as envsubst does in publishing scripts.")


def _settings(pairs: tuple[str, ...]) -> dict[str, str]:
    from ..packaging import parse_settings

    try:
        return parse_settings(pairs)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--set") from None


def _modules(pairs: tuple[str, ...]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for pair in pairs:
        name, sep, file = pair.partition("=")
        if not sep or not name or not file:
            raise click.BadParameter(f"{pair!r}: expected NAME:TAG=FILE.wasm",
                                     param_hint="--module")
        out[name] = Path(file)
    return out


def _load(file: Path, settings: dict[str, str]) -> Any:
    from ..packaging import validate_graph

    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"Cannot read {file}: {exc}") from None
    return validate_graph(text, file.name, settings)


# list and show browse the catalog (cli/catalog.py), imported only when they run.
@click.group(cls=LazyGroup,
             lazy={"list": "catalog:graph_list", "show": "catalog:graph_show"})
def graph() -> None:
    """Data flow graph definitions: validate them and push them with their WASM modules.

    A graph definition (GA format, schema aio-wasm-graph-config 1.0.0 or 1.1.0) names WASM
    operator modules as repo:tag; `push` uploads the modules you give with --module, checks
    that the others are already in the registry, and pushes the graph with the media types
    the operations experience lists graphs by.
    """


@graph.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--set", "settings", multiple=True, metavar="NAME=VALUE", help=_SET_HELP)
@output_options
def validate(file: Path, settings: tuple[str, ...], out: OutputOptions) -> None:
    """Check a graph definition against the GA rules without pushing anything.

    Every problem names the file, line, YAML path and the fix. Exit code 1 if any.

    \b
    Examples:
      iotops graph validate graph-simple.yaml
      iotops graph validate graph-avro-to-json.yaml --set VERSION=1.0.0 -o table
    """
    from ..errors import InvalidArtifact

    try:
        definition = _load(file, _settings(settings))
    except InvalidArtifact as exc:
        emit({"file": str(file), "valid": False,
              "problems": [p.to_dict() for p in exc.problems]}, out)
        raise ArtifactError(exc) from None
    emit({
        "file": str(file),
        "valid": True,
        "name": definition.name,
        "version": definition.version,
        "schemaVersion": definition.schema_version,
        "modules": [str(ref) for ref in definition.module_refs],
        "problems": [p.to_dict() for p in definition.warnings],
    }, out)
    for warning in definition.warnings:
        click.echo(f"WARNING: {warning}", err=True)


@graph.command("push")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--to", "to", required=True, metavar="HOST[:PORT]/REPO:TAG",
              help="Where the graph goes, e.g. myacr.azurecr.io/graph-simple:1.0.0.")
@click.option("--module", "modules", multiple=True, metavar="NAME:TAG=FILE.wasm",
              help="A module the graph names, from a local file; pushed to HOST/NAME:TAG "
                   "before the graph (repeatable). Modules not given must be in the registry.")
@click.option("--set", "settings", multiple=True, metavar="NAME=VALUE", help=_SET_HELP)
@click.option("--source", metavar="URL",
              help="org.opencontainers.image.source annotation (the code's repository).")
@sign_options
@registry_options
@output_options
def push(
    file: Path,
    to: str,
    modules: tuple[str, ...],
    settings: tuple[str, ...],
    source: str | None,
    signing: SignOptions,
    reg: RegistryOptions,
    out: OutputOptions,
) -> None:
    """Validate a graph, push its modules, then the graph; print each reference and digest.

    Nothing is pushed unless the graph is valid, every given module is a WebAssembly binary
    and every other module it names is already in the registry.

    \b
    Examples:
      iotops graph push graph-simple.yaml --to myacr.azurecr.io/graph-simple:1.0.0 \\
          --module temperature:1.0.0=target/wasm32-wasip2/release/temperature.wasm
      iotops graph push graph.yaml --to 127.0.0.1:5000/graph:1.0.0 --set VERSION=1.0.0 \\
          -u ci-push --password-stdin < token.txt
      iotops graph push graph.yaml --to myacr.azurecr.io/graph:1.0.0 \\
          --sign --key signer.key --cert signer-chain.pem
    """
    from ..errors import InvalidArtifact
    from ..packaging import Publisher, push_graph

    target = parse_reference(to, "--to")
    try:
        definition = _load(file, _settings(settings))
    except InvalidArtifact as exc:
        raise ArtifactError(exc) from None
    given = _modules(modules)
    identity = signing.identity()
    for warning in definition.warnings:
        click.echo(f"WARNING: {warning}", err=True)

    async def main() -> list[dict[str, Any]]:
        from .progress import TransferDisplay

        client = open_client(target.registry, reg)
        with TransferDisplay(f"push {target}", reg.progress) as display:
            publisher = Publisher(client, concurrency=reg.concurrency, progress=display)
            pushed = await push_graph(publisher, target, definition, given, source=source)
        result: list[dict[str, Any]] = [p.to_dict() for p in pushed]
        if identity is not None:
            signed = await sign_pushed(pushed, {target.registry: client}, identity, signing)
            for row, sig in zip(result, signed, strict=True):
                row["signature"], row["signer"] = sig["signature"], sig["signer"]
        return result

    emit(run(main()), out)
