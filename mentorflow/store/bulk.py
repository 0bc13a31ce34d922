"""Bulk writes (intake, the outbox): the driver's executemany, values converted by column type."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import Column, Connection, DateTime, Dialect, Table, insert

BATCH = 5000
T = TypeVar("T")


def insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Bulk insert through the driver's executemany, values converted by the columns' own types.

    The same rows through `conn.execute(insert(table), rows)` take about 1.7x as long: SQLAlchemy
    builds its parameters row by row. None stays SQL NULL (JSON columns too); a column that is
    NULL in every row of a chunk and has no default is left out of the statement (a welcome
    mail's row has nine), which the database fills with NULL all the same.
    """
    if not rows:
        return
    dialect = conn.dialect
    names = list(rows[0])
    take = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    converters: dict[str, Callable[[Any], Any]] = {}  # per call: each caches what it converted
    for chunk in chunks(rows, BATCH):
        # Column by column: the loops run in C, and columns without a converter are not touched.
        given = dict(zip(names, zip(*map(take, chunk), strict=True), strict=True))
        wanted = tuple(n for n in names if not _all_null(table.c[n], given[n]))
        sql, keys, named = _statement(dialect, table, wanted)
        columns = []
        for key in keys:
            if key not in converters:
                converters[key] = _converter_for(dialect, table.c[key])
            f = converters[key]
            columns.append(given[key] if f is _same else tuple(map(f, given[key])))
        values = list(zip(*columns, strict=True))
        params: list[Any] = [dict(zip(keys, v, strict=True)) for v in values] if named else values
        conn.exec_driver_sql(sql, params)


def _all_null(column: Column[Any], values: tuple[Any, ...]) -> bool:
    """NULL in every row, and NULL is what the database writes when the column is left out."""
    plain = column.default is None and column.server_default is None
    return plain and values.count(None) == len(values)


@lru_cache(maxsize=64)
def _statement(
    dialect: Dialect, table: Table, names: tuple[str, ...]
) -> tuple[str, list[str], bool]:
    """The INSERT of these columns: (SQL, the order its parameters take, whether named)."""
    compiled = insert(table).compile(dialect=dialect, column_keys=list(names))
    keys = list(compiled.positiontup or names)
    return str(compiled), keys, compiled.positiontup is None  # named parameters (psycopg)


def _converter_for(dialect: Dialect, column: Column[Any]) -> Callable[[Any], Any]:
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return _converter(process, isinstance(column.type, DateTime))


def _converter(process: Callable[[Any], Any] | None, moments: bool) -> Callable[[Any], Any]:
    """A column's bind processor that converts each distinct simple value once: a run stamps
    thousands of rows with the same `now`, and most rows have no reasons (`[]`)."""
    if process is None:
        return _same
    seen: dict[Any, Any] = {}
    if moments:  # a timestamp column: (value, zone), as equal instants in two zones are equal
        last: list[Any] = [None, None]  # the same object as the last value: the same result

        def convert_moment(value: Any) -> Any:
            if value is None:
                return None
            if value is last[0]:  # a run's `now` in every row: no key built, no lookup
                return last[1]
            key = (value, getattr(value, "tzinfo", None))
            found = seen.get(key)
            if found is None:
                found = seen[key] = process(value)
            last[:] = (value, found)
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
