"""Bulk writes (intake, the outbox): the driver's executemany, values converted by column type."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import Connection, DateTime, Table, insert

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
        _converter(
            table.c[k].type.dialect_impl(dialect).bind_processor(dialect),
            isinstance(table.c[k].type, DateTime),
        )
        for k in keys
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


def _converter(process: Callable[[Any], Any] | None, moments: bool) -> Callable[[Any], Any]:
    """A column's bind processor that converts each distinct simple value once: a run stamps
    thousands of rows with the same `now`, and most rows have no reasons (`[]`)."""
    if process is None:
        return _same
    seen: dict[Any, Any] = {}
    if moments:  # a timestamp column: (value, zone), as equal instants in two zones are equal

        def convert_moment(value: Any) -> Any:
            if value is None:
                return None
            key = (value, getattr(value, "tzinfo", None))
            found = seen.get(key)
            if found is None:
                found = seen[key] = process(value)
            return found

        return convert_moment

    def convert(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, list | dict) or value:
            return process(value)
        key = type(value).__name__  # an empty list or dict: the same JSON every time
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


class Prepared:
    """A statement compiled once per dialect and run through the driver (`exec_driver_sql`).

    What SQLAlchemy does for each `conn.execute(statement, params)` (cache lookup, parameter
    processing, result set-up) costs more than the statement itself when a sender runs two
    small UPDATEs per mail; here the parameters only pass their columns' bind processors.
    Errors still go through the engine's handlers (`exec_driver_sql`)."""

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._by_dialect: dict[str, tuple[str, dict[str, Any], Any, dict[str, Any]]] = {}

    def _compiled(self, conn: Connection) -> tuple[str, dict[str, Any], Any, dict[str, Any]]:
        dialect = conn.dialect
        found = self._by_dialect.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            processors = {}
            for name, bind in compiled.binds.items():
                process = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    processors[name] = process
            given = {name: None for name, bind in compiled.binds.items() if bind.required}
            defaults = compiled.construct_params(given)  # the statement's own values
            found = (str(compiled), defaults, compiled.positiontup, processors)
            self._by_dialect[dialect.name] = found
        return found

    def rowcount(self, conn: Connection, **values: Any) -> int:
        """Run with `values` for the statement's bind parameters; the rows it matched."""
        sql, defaults, order, processors = self._compiled(conn)
        params = {**defaults, **values}
        for name, process in processors.items():
            if params.get(name) is not None:
                params[name] = process(params[name])
        bound: Any = tuple(params[name] for name in order) if order is not None else params
        return int(conn.exec_driver_sql(sql, bound).rowcount)
