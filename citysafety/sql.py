"""SQL text made from names and values the platform does not control (file paths, table and
column names): the one place that quotes them. Values a query compares against are bound
parameters, never text; these are for what DuckDB cannot bind (identifiers, the path in
`attach`, `copy ... to`, `read_parquet` over a list built at run time)."""

from __future__ import annotations

from os import PathLike


def ident(name: str) -> str:
    """A quoted identifier: "name", inner quotes doubled."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(value: str | PathLike) -> str:
    """A string literal: 'value', inner quotes doubled (paths included)."""
    return "'" + str(value).replace("'", "''") + "'"
