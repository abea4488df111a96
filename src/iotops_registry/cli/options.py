"""Options shared by the commands: where the server is, how to print, greedy list options."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from ..config import default_data_dir

__all__ = [
    "OUTPUT_FORMATS",
    "CanonicalChoice",
    "ConnectionOptions",
    "GreedyOption",
    "OutputOptions",
    "bundle",
    "connection_options",
    "data_dir_option",
    "jmespath_problem",
    "output_options",
]

F = TypeVar("F", bound=Callable[..., Any])

OUTPUT_FORMATS = ("json", "yaml", "table", "tsv", "none")


def data_dir_option(f: F) -> F:
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=default_data_dir,
        show_default="$IOTOPS_DATA_DIR or ~/.local/share/iotops",
        help="Data directory of the embedded server.",
    )(f)


@dataclass(frozen=True)
class ConnectionOptions:
    """Where the server is, as the user said it; ``client.connect`` resolves the rest."""

    data_dir: Path
    server: str | None = None
    ca_file: Path | None = None
    subscription: str | None = None


@dataclass(frozen=True)
class OutputOptions:
    format: str = "json"
    query: str | None = None


def bundle(f: F, names: tuple[str, ...], make: Callable[..., Any], as_name: str) -> F:
    """Wrap ``f`` so the options ``names`` arrive as one keyword argument, ``as_name``,
    made by ``make(**values)``. Apply the options themselves on top of the result."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name in names}
        kwargs[as_name] = make(**values)
        return f(*args, **kwargs)

    return cast(F, wrapper)


def connection_options(f: F) -> F:
    """``--data-dir`` for the embedded server, or ``--server/--ca-file/--subscription``."""
    f = bundle(f, ("data_dir", "server", "ca_file", "subscription"), ConnectionOptions, "conn")
    f = click.option(
        "--subscription", envvar="IOTOPS_SUBSCRIPTION", metavar="ID",
        help="Subscription id [default: the embedded server's; required with --server].",
    )(f)
    f = click.option(
        "--ca-file", envvar="IOTOPS_CA_FILE",
        type=click.Path(dir_okay=False, path_type=Path),
        help="PEM bundle to verify the server's certificate [default: the data directory's CA, "
             "or the system trust store with --server].",
    )(f)
    f = click.option(
        "--server", envvar="IOTOPS_SERVER", metavar="URL",
        help="HTTPS URL of a remote server; the token comes from $IOTOPS_TOKEN or "
             "DefaultAzureCredential. Without it, use the server of --data-dir.",
    )(f)
    return data_dir_option(f)


def _check_query(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        jmespath.compile(value)
    except JMESPathError as exc:
        raise click.BadParameter(jmespath_problem(exc)) from None
    return value


def jmespath_problem(exc: Exception) -> str:
    """The first line of a jmespath error, without its dangling "for expression:"."""
    first = (str(exc).splitlines() or [type(exc).__name__])[0].rstrip(": ")
    return first.removesuffix(", for expression")


def output_options(f: F) -> F:
    """``-o/--output`` and ``--query``, as on every az command."""
    f = bundle(f, ("output", "query"), lambda output, query: OutputOptions(output, query), "out")
    f = click.option(
        "--query", metavar="JMESPATH", callback=_check_query,
        help="JMESPath query applied to the result before it is printed, e.g. \"[].name\".",
    )(f)
    return click.option(
        "-o", "--output", envvar="IOTOPS_OUTPUT", default="json", show_default=True,
        type=click.Choice(OUTPUT_FORMATS), help="Output format ($IOTOPS_OUTPUT).",
    )(f)


class CanonicalChoice(click.Choice[str]):
    """Choices spelled as the docs spell them (``AcrPull``), in help and errors alike, that
    still accept any case on input. Click's ``case_sensitive=False`` shows them lowercased."""

    def __init__(self, choices: Sequence[str]) -> None:
        super().__init__(choices, case_sensitive=True)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            value = next((c for c in self.choices if str(c).lower() == value.lower()), value)
        return super().convert(value, param, ctx)


class GreedyOption(click.Option):
    """An option taking zero or more space-separated values, like argparse ``nargs='*'``.

    ``--refs a b --host x`` gives ``("a", "b")``; ``--refs`` alone gives ``()``, which lets a
    command tell "clear these" from "not given" (``None``). Values run up to the next
    argument that looks like an option. Click has no public hook for this, so the parser's
    per-option ``process`` is wrapped, as is customary for such options.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("metavar", "NAME ...")
        kwargs["type"] = click.UNPROCESSED  # the tuple from _consume(), as it is
        super().__init__(*args, **kwargs)

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        # nargs=0: the parser itself takes no value (an "--opt=a" value is pushed back onto
        # the remaining args); _consume() then takes as many as there are.
        parser.add_option(obj=self, opts=self.opts, dest=self.name, action="store", nargs=0)
        for opt in self.opts:
            entry = parser._long_opt.get(opt) or parser._short_opt.get(opt)
            if entry is not None:
                entry.process = functools.partial(self._consume, entry.dest, parser)

    def _consume(self, dest: str, parser: Any, _value: Any, state: Any) -> None:
        values: list[str] = list(state.opts.get(dest) or ())  # repeated flags add up
        while state.rargs:
            nxt = state.rargs[0]
            if nxt[:1] in parser._opt_prefixes and len(nxt) > 1:
                break
            values.append(state.rargs.pop(0))
        state.opts[dest] = tuple(values)
        state.order.append(self)
