"""The few statements whose SQL differs between SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

UpsertInsert = postgresql.Insert | sqlite.Insert


def upsert_insert(connection: AsyncConnection, table: Table) -> UpsertInsert:
    """An INSERT that supports ``ON CONFLICT`` (both dialects spell it the same way in SQLAlchemy)."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
