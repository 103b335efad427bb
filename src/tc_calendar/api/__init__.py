"""The WebSocket JSON-RPC API on ``wsPort``: TrueConf Server and the web calendar page read the calendar cache.

Public surface (see docs/protocol.md for the wire protocol):

* :func:`create_app` / :class:`ApiServices` / :class:`ApiLimits` — the ASGI app and what it needs;
* :func:`ensure_api_secret` — the configured or generated shared secret; ``secret.show`` is ``tc_calendar
  api-secret``;
* :class:`ChangeSignal` — ``notify_new_changes()`` wakes the change feed after a commit;
* :func:`run_server` — uvicorn on a given host and port (port 0 in tests);
* :mod:`tc_calendar.api.client` — the Python client.
"""

from tc_calendar.api.app import create_app
from tc_calendar.api.errors import ApiError
from tc_calendar.api.feed import ChangeSignal
from tc_calendar.api.limits import ApiLimits
from tc_calendar.api.methods import ApiServices
from tc_calendar.api.ports import CalendarReader, ChangeLog, ChangeNotifier, MailboxRegistry, MetaStore
from tc_calendar.api.registry import OnDemandRegistry
from tc_calendar.api.secret import ApiSecret, ensure_api_secret, read_api_secret, secret_notice
from tc_calendar.api.server import RunningServer, run_server

__all__ = [
    "ApiError",
    "ApiLimits",
    "ApiSecret",
    "ApiServices",
    "CalendarReader",
    "ChangeLog",
    "ChangeNotifier",
    "ChangeSignal",
    "MailboxRegistry",
    "MetaStore",
    "OnDemandRegistry",
    "RunningServer",
    "create_app",
    "ensure_api_secret",
    "read_api_secret",
    "run_server",
    "secret_notice",
]
