"""The connector as one process: store, sync engine, WebSocket API with the web page, and the conference launcher.

``running_connector`` wires the parts from :class:`~tc_calendar.config.Settings` (configuration is passed in,
nothing is global), so ``tc_calendar run``, the demo and the tests start exactly the same thing. Shutdown runs
in reverse order: stop accepting clients, let sync finish its in-flight transactions, then close the store.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import signal
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from tc_calendar import __version__
from tc_calendar.api.app import create_app
from tc_calendar.api.auth import AuthThrottle, ServerCredentials, SessionTokens, derive_token_key
from tc_calendar.api.feed import ChangeSignal
from tc_calendar.api.graph_routes import graph_routes
from tc_calendar.api.limits import ApiLimits
from tc_calendar.api.methods import ApiServices
from tc_calendar.api.registry import OnDemandRegistry
from tc_calendar.api.secret import ensure_api_secret, secret_notice
from tc_calendar.api.server import RunningServer, run_server
from tc_calendar.clocks import utc_now
from tc_calendar.collector import collecting_less_often
from tc_calendar.config import Settings
from tc_calendar.crypto import SecretBox
from tc_calendar.engine.service import SyncService
from tc_calendar.housekeeping import run_housekeeping
from tc_calendar.launch_scheduler import PREPARE_LEAD, LaunchScheduler, SchedulerOptions
from tc_calendar.licensing.enforcement import LicenceStatus
from tc_calendar.licensing.guard import LicenceGuard
from tc_calendar.licensing.registration import Installation
from tc_calendar.logging_setup import hide_secrets
from tc_calendar.metrics import Metrics
from tc_calendar.model import Change
from tc_calendar.ops_routes import HealthProbe, ops_routes
from tc_calendar.providers.factory import needs_graph_inbox
from tc_calendar.providers.graph_notifications import GraphInbox
from tc_calendar.runtime import Loops
from tc_calendar.store import Store
from tc_calendar.store.migrate import upgrade_async
from tc_calendar.store.records import TrueConfUser
from tc_calendar.sync.window import current_window
from tc_calendar.trueconf.client import TrueConfClient
from tc_calendar.trueconf.launch_plan import LaunchPolicy
from tc_calendar.trueconf.participants import ParticipantsMode
from tc_calendar.trueconf.users import StoreUserCache, UserResolver
from tc_calendar.web import web_routes

log = logging.getLogger(__name__)


class LicensedSync:
    """The sync engine under the licence: running while the licence allows synchronization, rebuilt with the new
    account limit when it changes (a stopped :class:`SyncService` does not restart), paused when it no longer
    allows it. The API's registry always asks the current engine."""

    def __init__(
        self,
        build: Callable[[LicenceStatus], SyncService],
        licence: LicenceStatus,
        registry: OnDemandRegistry,
    ) -> None:
        self._build = build
        self._registry = registry
        self.service = build(licence)
        registry.sync = self.service
        self._allowed = licence.sync_allowed
        self.running = False
        """Whether synchronization runs now (``/health`` says so)."""

    async def start(self) -> None:
        if self._allowed:
            await self.service.start()
            self.running = True

    async def follow(self, status: LicenceStatus) -> None:
        """The licence changed (the guard's hook): pause, resume, or restart with a new account limit."""
        self.running = False
        await self.service.stop()
        self._allowed = status.sync_allowed
        if status.sync_allowed:
            self.service = self._registry.sync = self._build(status)
            await self.start()

    async def stop(self) -> None:
        self.running = False
        await self.service.stop()


@dataclass
class RunningConnector:
    """A started connector; ``url`` is the WebSocket API, ``http_url`` the page, /health and /metrics."""

    settings: Settings
    store: Store
    licensed: LicensedSync
    metrics: Metrics
    server: RunningServer
    change_signal: ChangeSignal
    """What wakes the change feed; the store fires it after each commit that appended to the change log."""
    launcher: LaunchScheduler | None = None

    @property
    def sync(self) -> SyncService:
        """The sync engine now (a licence change replaces it)."""
        return self.licensed.service

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def http_url(self) -> str:
        scheme = "https" if self.server.tls else "http"
        return f"{scheme}://{self.server.host}:{self.server.port}"


async def _mailbox_states(store: Store) -> dict[str, int]:
    counts: dict[str, int] = {}
    for mailbox in await store.list_mailboxes():
        counts[str(mailbox.state)] = counts.get(str(mailbox.state), 0) + 1
    return counts


def _sync_committed(metrics: Metrics, launcher: LaunchScheduler | None, changes: Sequence[Change]) -> None:
    """The sync engine's hook after a commit: count it, and have the launcher look at the schedule again (the
    store wakes the change feed itself)."""
    metrics.changes.inc(len(changes))
    if launcher is not None:
        launcher.poke()


async def _api_secret(settings: Settings, store: Store) -> tuple[str, bytes]:
    """The API secret (generated and stored on first start unless configured) and the session token key derived
    from it; both are kept out of log lines."""
    box = SecretBox.load_or_create(settings.key_file)
    secret = await ensure_api_secret(store, _plain(settings.api.secret), box)
    token_key = derive_token_key(secret.value)
    hide_secrets([secret.value, token_key.hex(), base64.urlsafe_b64encode(token_key).decode().rstrip("=")])
    if secret.source == "generated":
        log.warning(secret_notice(secret))
    return secret.value, token_key


def _api_services(
    settings: Settings, store: Store, registry: OnDemandRegistry, secret: str, token_key: bytes, limits: ApiLimits
) -> ApiServices:
    return ApiServices(
        calendar=store,
        changes=store,
        mailboxes=registry,
        credentials=ServerCredentials.build(
            list(settings.product_whitelist.tcs),
            secret,
            {server: value.get_secret_value() for server, value in settings.api.secrets.items()},
        ),
        web_users={login: value.get_secret_value() for login, value in settings.web.users.items()},
        tokens=SessionTokens(token_key, ttl=limits.session_token_ttl),
        throttle=AuthThrottle(),
        server_throttle=AuthThrottle(),
        limits=limits,
        server_name="tc-calendar",
        version=__version__,
        sync_window=partial(current_window, utc_now, settings.cache.backward, settings.cache.forward),
        directory=store,
    )


def _trueconf_and_launcher(
    settings: Settings, store: Store, metrics: Metrics
) -> tuple[TrueConfClient | None, LaunchScheduler | None]:
    if settings.launch_conference and settings.trueconf is not None:
        trueconf = TrueConfClient.from_settings(settings.trueconf)
        return trueconf, build_launcher(settings, store, trueconf, metrics)
    if settings.launch_conference:
        log.warning("launchConference is true but the trueconf section is missing: conferences will not be "
                    "started; add trueconf.url and its credentials (docs/configuration.md)")
    return None, None


@contextlib.asynccontextmanager
async def running_connector(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    sock: socket.socket | None = None,
    limits: ApiLimits | None = None,
    sync_options: Any = None,
    provider_options: dict[str, Any] | None = None,
    graph_options: dict[str, Any] | None = None,
    licence_guard: LicenceGuard | None = None,
) -> AsyncIterator[RunningConnector]:
    """Start everything; stop it all when the block exits. ``host``/``port`` override ``api.host``/``wsPort``.

    The licence (docs/operations.md, "Registration") sets the account limit and may pause synchronization; a
    licence file that cannot be trusted stops the start with a :class:`~tc_calendar.licensing.LicenceError`.
    """
    guard = licence_guard or LicenceGuard(
        Installation.from_settings(settings.config_dir, settings.registration), configured_limit=settings.account_limit
    )
    licence = guard.open()
    await upgrade_async(settings.database_url)
    store = Store.open(settings.database_url)
    try:
        secret, token_key = await _api_secret(settings, store)
        metrics = Metrics()
        trueconf, launcher = _trueconf_and_launcher(settings, store, metrics)
        graph_inbox = GraphInbox() if needs_graph_inbox(settings.calendar_providers) else None
        build_sync = partial(
            _build_sync, settings, store, notify=partial(_sync_committed, metrics, launcher), metrics=metrics,
            options=sync_options, provider_options=provider_options, graph_options=graph_options,
            graph_inbox=graph_inbox,
        )  # fmt: skip
        registry = OnDemandRegistry(store)
        licensed = LicensedSync(build_sync, licence, registry)
        limits = limits or ApiLimits()
        probe = HealthProbe(
            store_ping=store.latest_cursor,
            sync_running=lambda: licensed.running,
            mailbox_states=lambda: _mailbox_states(store),
        )
        extra_routes = [*ops_routes(probe, metrics), *web_routes()]
        if graph_inbox is not None:
            extra_routes += graph_routes(graph_inbox)
        app = create_app(_api_services(settings, store, registry, secret, token_key, limits), notifier=store,
                         extra_routes=extra_routes)
        metrics.ws_clients.set_function(lambda: float(len(app.state.api.connections)))
        tls_cert = settings.resolve(settings.api.tls_cert) if settings.api.tls_cert else None
        tls_key = settings.resolve(settings.api.tls_key) if settings.api.tls_key else None
        async with run_server(
            app,
            limits,
            host=host or settings.api.host,
            port=settings.ws_port if port is None else port,
            tls_cert=tls_cert,
            tls_key=tls_key,
            sock=sock,
            trusted_proxies=settings.api.trusted_proxies,
        ) as server:
            with collecting_less_often():  # collector.py: 10,000 mailboxes are half a million objects
                await licensed.start()
                await store.listen_to_other_instances()  # PostgreSQL: changes made by other nodes wake our clients too
                loops = Loops()
                if launcher is not None:
                    loops.start("conference launcher", launcher.run)
                # A check-in in flight may wait for its timeout; nothing in it needs finishing: cancelled at shutdown.
                loops.start("licence guard", partial(guard.run, on_change=licensed.follow), cancel=True)
                loops.start("housekeeping", partial(run_housekeeping, store, settings.cache.backward))
                log.info("tc-calendar %s: API on %s, web calendar on %s/calendar/", __version__, server.url,
                         server.url.replace("ws", "http", 1).removesuffix("/ws"))
                try:
                    yield RunningConnector(settings, store, licensed, metrics, server, app.state.api.signal, launcher)
                finally:
                    await loops.stop_all()
                    await licensed.stop()
                    await loops.wait()
                    if trueconf is not None:
                        await trueconf.aclose()
    finally:
        await store.close()


def _build_sync(settings: Settings, store: Store, status: LicenceStatus, **options: Any) -> SyncService:
    """The sync engine for the account limit ``status`` allows."""
    licensed = settings.model_copy(update={"account_limit": status.account_limit})
    return SyncService.from_settings(
        licensed, store, node_id=settings.cluster.node_id, lease_ttl=settings.cluster.lease_seconds, **options
    )


def build_launcher(settings: Settings, store: Store, client: TrueConfClient, metrics: Metrics) -> LaunchScheduler:
    """The conference launcher from ``launchConference``, ``temporalConfParticipantsMode``, ``launch`` and
    ``trueconf.userMap``; TrueConf users are looked up by e-mail and cached in the store."""
    assert settings.trueconf is not None
    resolver = UserResolver(
        client, StoreUserCache(store, TrueConfUser), explicit=dict(settings.trueconf.user_map)
    )
    options = SchedulerOptions(
        policy=LaunchPolicy(grace=timedelta(minutes=settings.launch.grace_minutes), lead=PREPARE_LEAD),
        mode=ParticipantsMode.from_config(settings.temporal_conf_participants_mode),
    )
    return LaunchScheduler(store, client, resolver, options=options, metrics=metrics)


def _plain(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run until ``stop`` is set, or SIGTERM/SIGINT arrives (graceful: in-flight transactions finish)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    async with running_connector(settings):
        await stop.wait()
        log.info("stopping: finishing in-flight work")
    log.info("stopped")


def run(settings: Settings) -> int:
    """``tc_calendar run``."""
    asyncio.run(serve(settings))
    return 0
