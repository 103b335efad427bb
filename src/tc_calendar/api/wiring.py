"""Building the API from ``config.json`` settings and the store: what the service calls at start-up.

    services, secret = await build_services(settings, store)
    if secret.source == "generated":
        log.warning(secret_notice(secret))
    app = create_app(services, notifier=store, extra_routes=[...])
    async with serve_settings(app, settings, services.limits):
        ...

Kept apart from ``app`` so the app itself takes plain values and tests need no config file.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

from starlette.applications import Starlette

from tc_calendar import __version__
from tc_calendar.api.auth import AuthThrottle, ServerCredentials, SessionTokens, derive_token_key
from tc_calendar.api.limits import ApiLimits
from tc_calendar.api.methods import ApiServices
from tc_calendar.api.ports import CalendarReader, ChangeLog, MailboxRegistry, MetaStore
from tc_calendar.api.registry import MailboxStore, StoreMailboxRegistry
from tc_calendar.api.secret import ApiSecret, ensure_api_secret, read_api_secret
from tc_calendar.api.server import RunningServer, run_server
from tc_calendar.config import Settings


class ApiStore(CalendarReader, ChangeLog, MetaStore, MailboxStore, Protocol):
    """Everything the API reads from the store (``tc_calendar.store.Store`` satisfies it)."""


def _configured_secret(settings: Settings) -> str | None:
    secret = settings.api.secret
    return secret.get_secret_value() or None if secret is not None else None


async def build_services(
    settings: Settings,
    store: ApiStore,
    mailboxes: MailboxRegistry | None = None,
    *,
    limits: ApiLimits | None = None,
    server_name: str = "tc-calendar",
) -> tuple[ApiServices, ApiSecret]:
    """The API's services; generates and stores the shared secret when ``api.secret`` is not configured."""
    limits = limits or ApiLimits()
    secret = await ensure_api_secret(store, _configured_secret(settings))
    credentials = ServerCredentials.build(
        list(settings.product_whitelist.tcs),
        secret.value,
        {server: value.get_secret_value() for server, value in settings.api.secrets.items()},
    )
    services = ApiServices(
        calendar=store,
        changes=store,
        mailboxes=mailboxes if mailboxes is not None else StoreMailboxRegistry(store),
        credentials=credentials,
        web_users={login: password.get_secret_value() for login, password in settings.web.users.items()},
        tokens=SessionTokens(derive_token_key(secret.value), limits.session_token_ttl),
        throttle=AuthThrottle(),
        limits=limits,
        server_name=server_name,
        version=__version__,
    )
    return services, secret


async def api_secret_for_cli(settings: Settings, store: MetaStore) -> str | None:
    """What ``tc_calendar api-secret`` prints: the configured secret, else the generated one (None before the
    service has started once)."""
    return await read_api_secret(store, _configured_secret(settings))


@contextlib.asynccontextmanager
async def serve_settings(app: Starlette, settings: Settings, limits: ApiLimits) -> AsyncIterator[RunningServer]:
    """Serve on ``api.host``:``wsPort``, with TLS when ``api.tlsCert``/``api.tlsKey`` are set."""
    cert = Path(settings.api.tls_cert) if settings.api.tls_cert else None
    key = Path(settings.api.tls_key) if settings.api.tls_key else None
    async with run_server(app, limits, host=settings.api.host, port=settings.ws_port, tls_cert=cert, tls_key=key) as s:
        yield s
