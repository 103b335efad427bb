"""Fixtures shared by the whole test suite.

``database_url`` is a freshly migrated database, once on SQLite (a file in the test's tmp dir) and once on
PostgreSQL (a schema of its own, ``tcc_test_<random>``, dropped afterwards), so every test that uses it
specifies behaviour on both backends. ``store`` is an open :class:`~tc_calendar.store.Store` on it.

PostgreSQL tests need ``TC_CALENDAR_TEST_PG`` (e.g. ``postgresql://postgres@127.0.0.1:5432/test``). Without it,
or when the server does not answer, they skip — except in CI (``CI`` set), where they fail: CI must test
PostgreSQL.

Property tests (Hypothesis) explore new examples on every developer run; in CI they replay a fixed sequence
(``derandomize``), so one CI run judges the code, not the luck of the draw. A counterexample found locally goes
into the test as an ``@example``.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import os
import secrets
import threading
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.abc
import asyncpg
import pytest
from hypothesis import settings
from sqlalchemy.engine import make_url

from tc_calendar.store import Store, upgrade_async

PG_ENV = "TC_CALENDAR_TEST_PG"


def _parse_one_at_a_time() -> None:
    """Let one thread at a time build a Python AST (``ast.parse``) in this process.

    CPython 3.11 (3.11.7 at least) keeps the AST constructor's recursion depth per interpreter, not per thread
    (python/cpython#106905): two threads parsing at once fail with "SystemError: AST constructor recursion
    depth mismatch". Tests run servers in threads next to the test's thread, and pytest parses source both to
    rewrite asserts on import and to show a failure; a failed test could so take its pytest-xdist worker, and
    with it the whole run, down.
    """
    parse, lock = ast.parse, threading.RLock()

    @functools.wraps(parse)
    def parse_locked(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return parse(*args, **kwargs)

    ast.parse = parse_locked


def _resolve_lazy_imports() -> None:
    """Import now, in the main thread, what anyio imports lazily on first use (the lazy import builds an AST
    and, as pytest rewrites the asserts of every pytest plugin's package, anyio's included, parses source)."""
    for module in (anyio, anyio.abc):
        for name in dir(module):
            getattr(module, name)


_parse_one_at_a_time()
_resolve_lazy_imports()
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
T = TypeVar("T")
#: Schemas created for tests in this run, so the summary can say that PostgreSQL was really tested.
_POSTGRES_TESTS: list[str] = []


#: The same count from each pytest-xdist worker, gathered by the controller as the workers finish.
_WORKER_POSTGRES_TESTS: list[int] = []


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order and group the tests for parallel workers (pytest-xdist, ``--dist loadgroup``; tests/README.md).

    Tests that share a module-scoped fixture (a built package, a browser, a running demo) run on one worker, so
    the fixture is made once, not once per worker. The long tests (a ``timeout`` mark above the default) start
    first, then the groups, largest first, then the rest, so that no long test starts last and holds up the end
    of the run. (``scripts/test`` passes ``--no-loadscope-reorder`` so pytest-xdist keeps this order.)
    """
    for item in items:
        fixture_info = getattr(item, "_fixtureinfo", None)
        if fixture_info is None or item.get_closest_marker("xdist_group") is not None:
            continue
        definitions = fixture_info.name2fixturedefs.values()
        if any(definition[-1].scope == "module" for definition in definitions if definition):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))

    default_timeout = float(config.getini("timeout") or 0)
    groups = Counter(_group(item) for item in items)

    def order(item: pytest.Item) -> tuple[int, int]:
        timeout = item.get_closest_marker("timeout")
        if timeout is not None and timeout.args and float(timeout.args[0]) > default_timeout:
            return (0, 0)
        group = _group(item)
        return (1, -groups[group]) if group is not None else (2, 0)

    items.sort(key=order)  # stable: collection order within each rank


def _group(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("xdist_group")
    if marker is None:
        return None
    return str(marker.args[0] if marker.args else marker.kwargs.get("name", "default"))


def pytest_sessionfinish(session: pytest.Session) -> None:
    worker_output = getattr(session.config, "workeroutput", None)
    if worker_output is not None:  # a pytest-xdist worker: tell the controller
        worker_output["postgres_tests"] = len(_POSTGRES_TESTS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    output = getattr(node, "workeroutput", None) or {}
    _WORKER_POSTGRES_TESTS.append(int(output.get("postgres_tests", 0)))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    server = make_url(os.environ[PG_ENV]).render_as_string(hide_password=True) if os.environ.get(PG_ENV) else None
    ran = len(_POSTGRES_TESTS) + sum(_WORKER_POSTGRES_TESTS)
    if ran:
        terminalreporter.write_line(f"PostgreSQL: {ran} tests ran against {server}")
    else:
        terminalreporter.write_line(f"PostgreSQL: no test ran against PostgreSQL (set {PG_ENV} to run them)")


def run_in_fresh_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code, on a loop of its own in another thread.

    Fixtures use it so they never disturb the event loop pytest-asyncio gives the test.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the PostgreSQL tests", pytrace=False)
    pytest.skip(f"{reason}; PostgreSQL tests skipped")


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").difference_update_query(["schema"]).render_as_string(False)


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The PostgreSQL server URL from ``TC_CALENDAR_TEST_PG``, checked to answer (skip, or fail in CI)."""
    url = os.environ.get(PG_ENV, "")
    if not url:
        _unavailable(f"{PG_ENV} is not set")
    try:
        run_in_fresh_loop(_ping(url))
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        _unavailable(f"PostgreSQL at {PG_ENV}={url} does not answer: {error}")
    return url


async def _ping(url: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
    await connection.close()


async def _execute(url: str, sql: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _url_with_schema(server_url: str, schema: str) -> str:
    return make_url(server_url).update_query_dict({"schema": schema}).render_as_string(False)


@pytest.fixture
def fresh_postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A PostgreSQL URL (``...?schema=tcc_test_<random>``) on a new, empty schema, dropped after the test."""
    schema = f"tcc_test_{secrets.token_hex(6)}"
    run_in_fresh_loop(_execute(postgres_server_url, f'CREATE SCHEMA "{schema}"'))
    _POSTGRES_TESTS.append(schema)
    try:
        yield _url_with_schema(postgres_server_url, schema)
    finally:
        run_in_fresh_loop(_execute(postgres_server_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture
def fresh_sqlite_url(tmp_path: Path) -> str:
    """A SQLite URL on a file that does not exist yet."""
    return f"sqlite:///{tmp_path / 'tc_calendar.db'}"


@pytest.fixture
def postgres_database_url(fresh_postgres_url: str) -> str:
    """A PostgreSQL database migrated to head, for tests that only make sense on PostgreSQL."""
    run_in_fresh_loop(upgrade_async(fresh_postgres_url))
    return fresh_postgres_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest) -> str:
    """An empty database (no tables), on each backend in turn."""
    name = "fresh_sqlite_url" if request.param == "sqlite" else "fresh_postgres_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """A database migrated to head, on each backend in turn."""
    run_in_fresh_loop(upgrade_async(empty_database_url))
    return empty_database_url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """An open store on ``database_url``, closed after the test."""
    async with Store.open(database_url) as opened:
        yield opened
