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


# Between two columns: one space of padding on each side of the (blank) vertical rule.
_GAP = 3
# A column of prose (cells with spaces) may wrap down to this width before columns of single
# words (names, states, codes) give up anything.
_PROSE_FLOOR = 16
# A header cut to fit its values keeps at least this many cells ("Provi…").
_HEADER_FLOOR = 6


def _level(wants: list[int], budget: int) -> list[int]:
    """``wants`` cut down from the top, evenly, so that they sum to at most ``budget``."""
    if sum(wants) <= budget:
        return list(wants)
    lo, hi = 1, max(wants)
    while lo < hi:  # the highest level whose total fits
        mid = (lo + hi + 1) // 2
        if sum(min(w, mid) for w in wants) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return [min(w, lo) for w in wants]


def _widths(headers: list[str], cells: list[list[str]], width: int) -> list[int]:
    """Column widths that fit ``width`` and never split a word.

    Every column first gets its longest word (so wrapping happens only at spaces); what is
    left goes to the columns that would otherwise wrap. When even the longest words do not
    fit, prose columns shrink first (to ``_PROSE_FLOOR``), then all columns evenly; a word
    wider than its column is cut with an ellipsis, never folded onto the next line.
    """
    from rich.cells import cell_len

    budget = max(len(headers), width - _GAP * (len(headers) - 1))
    columns = [[h, *(row[i] for row in cells)] for i, h in enumerate(headers)]
    natural = [max(cell_len(line) for text in col for line in text.splitlines() or [""])
               for col in columns]
    if sum(natural) <= budget:
        return natural
    def longest_word(texts: list[str]) -> int:
        return max((cell_len(w) for text in texts for w in text.split()), default=0)

    least = [max(longest_word(col), 1) for col in columns]
    if sum(least) > budget:
        # 1. Prose wraps onto more lines: squeeze those columns first.
        prose = [any(" " in text.strip() for text in col[1:]) for col in columns]
        fixed = sum(w for w, p in zip(least, prose, strict=True) if not p)
        squeezed = iter(_level(
            [w for w, p in zip(least, prose, strict=True) if p],
            max(budget - fixed, _PROSE_FLOOR * sum(prose)),
        ))
        least = [next(squeezed) if p else w for w, p in zip(least, prose, strict=True)]
    if sum(least) > budget:
        # 2. A header wider than its column's values ("ProvisioningState" over "Succeeded")
        #    gives way before any value does.
        least = [
            min(w, max(longest_word(col[1:]), min(cell_len(col[0]), _HEADER_FLOOR)))
            for w, col in zip(least, columns, strict=True)
        ]
        # 3. Then every column evenly, widest first.
        least = _level(least, budget)
    spare = budget - sum(least)
    want = [n - w for n, w in zip(natural, least, strict=True)]
    total = sum(want)
    if spare <= 0 or total == 0:
        return least
    share = [w + (spare * extra) // total for w, extra in zip(least, want, strict=True)]
    # Hand the rounding remainder to the columns that still wrap, widest need first.
    left = spare - (sum(share) - sum(least))
    for i in sorted(range(len(share)), key=lambda i: natural[i] - share[i], reverse=True):
        if left <= 0:
            break
        if share[i] < natural[i]:
            share[i] += 1
            left -= 1
    return share


def _console_width() -> int | None:
    """The terminal's width, or ``$COLUMNS``; ``None`` when piped without ``$COLUMNS``."""
    import os
    import shutil

    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    import sys

    if sys.stdout is not None and sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def _table(data: Any, columns: Sequence[Column] | None) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    rows = data if isinstance(data, list) else [data]
    cols = list(columns) if columns is not None else _generic_columns(rows)
    headers = [header for header, _ in cols]
    cells = [[_text(get(row)) for _, get in cols] for row in rows]
    width = _console_width()
    widths = _widths(headers, cells, width) if width else None
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for i, header in enumerate(headers):
        # "ellipsis": a word wider than its column is cut with "…", never folded mid-word.
        table.add_column(header, overflow="ellipsis", width=widths[i] if widths else None)
    for row_cells in cells:
        # Text() keeps values literal: rich would otherwise read "[...]" as markup.
        table.add_row(*(Text(cell) for cell in row_cells))
    # Piped without $COLUMNS: one line per row, however long.
    console = Console(highlight=False, width=width or 4096)
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
