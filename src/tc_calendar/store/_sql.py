"""Small SQL helpers shared by the query modules."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Boolean, ColumnElement, Table, any_, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

T = TypeVar("T")

UpsertInsert = postgresql.Insert | sqlite.Insert

#: Values per ``IN (...)`` list, well under SQLite's and asyncpg's limits on bound parameters.
IN_LIST_SIZE = 500


def upsert_insert(connection: AsyncConnection, table: Table) -> UpsertInsert:
    """An INSERT that supports ``ON CONFLICT`` (both dialects spell it the same way in SQLAlchemy)."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def in_chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    """``values`` in slices small enough for one ``IN (...)`` list each."""
    for offset in range(0, len(values), IN_LIST_SIZE):
        yield values[offset : offset + IN_LIST_SIZE]


class _OneOf(ColumnElement[bool]):
    """``column`` equals one of the list bound to ``name``: see :func:`one_of`."""

    type = Boolean()
    inherit_cache = True

    def __init__(self, column: ColumnElement[Any], name: str) -> None:
        self.column = column
        self.name = name

    _traverse_internals = [("column", InternalTraversal.dp_clauseelement), ("name", InternalTraversal.dp_string)]


def one_of(column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """``column IN (...)`` for the list of values bound to ``name`` at execution.

    On PostgreSQL it is ``column = ANY(:name)`` with the list as one array: one statement text whatever the number of
    values, so the server plans it once per connection (a plan that uses the column's index) instead of planning an
    ``IN`` list of that length again each time, and then, for a table that grew since its statistics were taken,
    often choosing to scan all of it."""
    return _OneOf(column, name)


@compiles(_OneOf)
def _one_of_in_list(element: _OneOf, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.in_(bindparam(element.name, expanding=True)), **kw)


@compiles(_OneOf, "postgresql")
def _one_of_array(element: _OneOf, compiler: SQLCompiler, **kw: Any) -> str:
    array = bindparam(element.name, type_=postgresql.ARRAY(element.column.type))
    return compiler.process(element.column == any_(array), **kw)
