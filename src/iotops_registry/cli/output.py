"""Printing results like az: json, yaml, table, tsv or none, after an optional JMESPath query."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import click

from .errors import CliError
from .options import OutputOptions, jmespath_problem

__all__ = [
    "INSTANCE_COLUMNS",
    "REGISTRY_COLUMNS",
    "Column",
    "emit",
    "render",
]

Column = tuple[str, Callable[[dict[str, Any]], Any]]


def _get(path: str) -> Callable[[dict[str, Any]], Any]:
    keys = path.split(".")

    def get(doc: dict[str, Any]) -> Any:
        value: Any = doc
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    return get


def _resource_group(doc: dict[str, Any]) -> str | None:
    parts = str(doc.get("id") or "").split("/")
    low = [p.lower() for p in parts]
    return parts[low.index("resourcegroups") + 1] if "resourcegroups" in low[:-1] else None


REGISTRY_COLUMNS: list[Column] = [
    ("Name", _get("name")),
    ("Host", _get("properties.host")),
    ("Authentication", _get("properties.authentication.method")),
    ("ProvisioningState", _get("properties.provisioningState")),
    ("HealthState", _get("properties.healthState")),
    ("ResourceGroup", _resource_group),
]

INSTANCE_COLUMNS: list[Column] = [
    ("Name", _get("name")),
    ("Location", _get("location")),
    ("ResourceGroup", _resource_group),
    ("ProvisioningState", _get("properties.provisioningState")),
    ("Description", _get("properties.description")),
]


def _scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _tsv(data: Any) -> str:
    """One line per list item; an object's scalar values in order, tab-separated."""
    rows = data if isinstance(data, list) else [data]
    lines: list[str] = []
    for row in rows:
        if isinstance(row, dict):
            lines.append("\t".join(_text(v) for v in row.values() if _scalar(v)))
        elif isinstance(row, list):
            lines.append("\t".join(_text(v) for v in row if _scalar(v)))
        else:
            lines.append(_text(row))
    return "".join(line + "\n" for line in lines)


def _generic_columns(rows: Sequence[Any]) -> list[Column]:
    """Columns for an arbitrary query result: the scalar fields, in first-seen order."""
    if not any(isinstance(r, dict) for r in rows):
        return [("Result", lambda r: r)]
    names: list[str] = []
    for row in rows:
        if isinstance(row, dict):
            names += [k for k, v in row.items() if _scalar(v) and k not in names]
    return [(name, _get_key(name)) for name in names]


def _get_key(name: str) -> Callable[[Any], Any]:
    return lambda row: row.get(name) if isinstance(row, dict) else None


def _table(data: Any, columns: Sequence[Column] | None) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    rows = data if isinstance(data, list) else [data]
    cols = list(columns) if columns is not None else _generic_columns(rows)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for header, _ in cols:
        table.add_column(header, overflow="fold")
    for row in rows:
        # Text() keeps values literal: rich would otherwise read "[...]" as markup.
        table.add_row(*(Text(_text(get(row))) for _, get in cols))
    console = Console(highlight=False)
    if not console.is_terminal:  # piped: do not wrap at 80 columns
        console = Console(highlight=False, width=4096)
    with console.capture() as capture:
        console.print(table)
    return "\n".join(line.rstrip() for line in capture.get().splitlines()) + "\n"


def render(data: Any, out: OutputOptions, columns: Sequence[Column] | None = None) -> str:
    """The text to print for ``data``; ``columns`` shape the table unless ``--query`` is set."""
    if out.query is not None:
        import jmespath
        from jmespath.exceptions import JMESPathError

        try:
            data = jmespath.search(out.query, data)
        except JMESPathError as exc:
            raise CliError(f"The --query failed: {jmespath_problem(exc)}") from None
        columns = None
    fmt = out.format
    if fmt == "none":
        return ""
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        import yaml

        text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True,
                                   default_flow_style=False)
        return text
    if fmt == "tsv":
        return _tsv(data)
    if fmt == "table":
        return _table(data, columns)
    raise click.UsageError(f"unknown output format '{fmt}'")


def emit(data: Any, out: OutputOptions, columns: Sequence[Column] | None = None) -> None:
    text = render(data, out, columns)
    if text:
        click.echo(text, nl=False)
