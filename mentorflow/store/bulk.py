"""Bulk writes (intake, the outbox): the driver's executemany, values converted by column type."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, insert

BATCH = 5000
T = TypeVar("T")


def insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Bulk insert through the driver's executemany, values converted by the columns' own types.

    The same rows through `conn.execute(insert(table), rows)` take about 1.7x as long: SQLAlchemy
    builds its parameters row by row. None stays SQL NULL (JSON columns too).
    """
    if not rows:
        return
    dialect = conn.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=list(rows[0]))
    keys = list(compiled.positiontup or rows[0])  # the order the statement wants
    convert = [
        _converter(table.c[k].type.dialect_impl(dialect).bind_processor(dialect)) for k in keys
    ]
    take = itemgetter(*keys) if len(keys) > 1 else (lambda row: (row[keys[0]],))
    for chunk in chunks(rows, BATCH):
        # Column by column: the loops run in C, and columns without a converter are not touched.
        columns = list(zip(*map(take, chunk), strict=True))
        for i, f in enumerate(convert):
            if f is not _same:
                columns[i] = tuple(map(f, columns[i]))
        values = list(zip(*columns, strict=True))
        if compiled.positiontup is None:  # named parameters (psycopg)
            params: list[Any] = [dict(zip(keys, v, strict=True)) for v in values]
        else:
            params = values
        conn.exec_driver_sql(str(compiled), params)


def _converter(process: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """A column's bind processor that converts each distinct simple value once: a run stamps
    thousands of rows with the same `now`, and most rows have no reasons (`[]`)."""
    if process is None:
        return _same
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, list | dict):
            if value:
                return process(value)
            key: Any = type(value).__name__
        elif isinstance(value, datetime):
            key = value
        else:
            return process(value)
        found = seen.get(key)
        if found is None:
            found = seen[key] = process(value)
        return found

    return convert


def _same(value: Any) -> Any:
    return value


def chunks(rows: list[T], size: int) -> Iterator[list[T]]:
    """`rows` in lists of at most `size`."""
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
