"""Small SQL helpers shared by the query modules."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

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
