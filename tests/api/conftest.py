"""Fixtures of the API tests: a migrated SQLite store in the test's tmp dir and a running API over it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from api_harness import Harness, running_api

from tc_calendar.store import Store, upgrade_async


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    with ThreadPoolExecutor(max_workers=1) as pool:  # alembic runs its own loop: keep it off the test's
        pool.submit(asyncio.run, upgrade_async(url)).result()
    return url


@pytest.fixture
async def api_store(sqlite_url: str) -> AsyncIterator[Store]:
    async with Store.open(sqlite_url) as store:
        yield store


@pytest.fixture
async def api(api_store: Store) -> AsyncIterator[Harness]:
    async with running_api(api_store) as harness:
        yield harness
