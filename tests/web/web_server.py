"""The real connector API plus the page, served by uvicorn on 127.0.0.1 in a thread of the test process.

The browser tests are synchronous (Playwright's sync API), so the server runs its own event loop in a thread;
``apply`` writes through the real store on that loop and rings the change signal, as the sync engine does.
``stop``/``start`` take the server down and bring it back on the same port and database (connection-loss tests).
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from web_world import MAILBOXES, TODAY, WEB_LOGIN, WEB_PASSWORD

from tc_calendar.api.app import create_app
from tc_calendar.api.auth import AuthThrottle, ServerCredentials, SessionTokens, derive_token_key
from tc_calendar.api.feed import ChangeSignal
from tc_calendar.api.limits import ApiLimits
from tc_calendar.api.methods import ApiServices
from tc_calendar.api.registry import OnDemandRegistry
from tc_calendar.api.server import listening_socket, run_server
from tc_calendar.store import ConfiguredMailbox, Store, upgrade_async
from tc_calendar.sync.actions import Action
from tc_calendar.sync.window import window_at
from tc_calendar.web import web_routes

API_SECRET = "web-test-api-secret"
T = TypeVar("T")


def run_in_fresh_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _seed(url: str, actions: Sequence[Action]) -> None:
    async with Store.open(url) as store:
        await store.register_config_mailboxes([ConfiguredMailbox(email) for email in MAILBOXES])
        await store.apply(list(actions))
        for email in MAILBOXES:
            await store.record_sync_success(email)


def copy_of(database: Path, directory: Path) -> str:
    """The URL of a copy of a prepared SQLite database in ``directory`` (cheaper than migrating again)."""
    target = directory / "calendar.db"
    shutil.copyfile(database, target)
    return f"sqlite:///{target}"


def prepare_database(url: str, actions: Sequence[Action]) -> None:
    """Migrate a fresh SQLite database and put the world in it (before the server starts)."""
    run_in_fresh_loop(upgrade_async(url))
    run_in_fresh_loop(_seed(url, actions))


class LiveServer:
    def __init__(self, database_url: str, *, free_failures: int = 50) -> None:
        """``free_failures``: failed sign-ins from one address before the API's back-off starts."""
        self.database_url = database_url
        self.free_failures = free_failures
        self.port = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._store: Store | None = None
        self._signal: ChangeSignal | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def page_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/calendar/"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self) -> LiveServer:
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), name="web-test-api", daemon=True)
        self._thread.start()
        if not self._ready.wait(20) or self._error is not None:
            raise RuntimeError(f"the API did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None or self._stop is None:
            return
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(20)
        self._thread = None

    def apply(self, actions: Sequence[Action]) -> None:
        """Commit actions through the store and wake the change feed, as the sync engine does."""
        if self._thread is None:  # the server is down: write to the database directly, like another node would
            run_in_fresh_loop(self._apply_offline(actions))
            return
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._apply_online(actions), self._loop).result(20)

    def request_mailbox(self, email: str) -> None:
        """A mailbox someone asked for that is not synchronized yet (queued on demand, as ``calendar.list`` does)."""
        assert self._loop is not None and self._store is not None
        store = self._store
        asyncio.run_coroutine_threadsafe(store.register_on_demand_mailbox(email), self._loop).result(20)

    async def _apply_online(self, actions: Sequence[Action]) -> None:
        assert self._store is not None and self._signal is not None
        await self._store.apply(list(actions))
        self._signal.notify_new_changes()

    async def _apply_offline(self, actions: Sequence[Action]) -> None:
        async with Store.open(self.database_url) as store:
            await store.apply(list(actions))

    async def _serve(self) -> None:
        try:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            limits = ApiLimits()
            async with Store.open(self.database_url) as store:
                self._store, self._signal = store, ChangeSignal()
                services = ApiServices(
                    calendar=store,
                    changes=store,
                    mailboxes=OnDemandRegistry(store),
                    credentials=ServerCredentials.build([], API_SECRET, {}),
                    web_users={WEB_LOGIN: WEB_PASSWORD},
                    tokens=SessionTokens(derive_token_key(API_SECRET), limits.session_token_ttl),
                    throttle=AuthThrottle(free_failures=self.free_failures),
                    limits=limits,
                    version="0.1.0",
                    # the guide's default cache (2 months back, 3 ahead) on the world's today, as the page's clock
                    sync_window=lambda: window_at(datetime.fromisoformat(TODAY), 2, 3),
                    directory=store,
                )
                app = create_app(services, signal=self._signal, extra_routes=web_routes())
                sock = listening_socket("127.0.0.1", self.port)
                async with run_server(app, limits, sock=sock) as server:
                    self.port = server.port
                    self._ready.set()
                    await self._stop.wait()
        except BaseException as error:
            self._error = error
            self._ready.set()
            raise
        finally:
            self._store = None
