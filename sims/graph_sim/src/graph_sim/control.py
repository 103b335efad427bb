"""The control API: ews_sim's world commands plus Graph's (tenant, faults, delta tokens, subscriptions).

``GraphControl(sim).dispatch(command, params)``; commands not listed here go to ews_sim's
:class:`~ews_sim.world.Control` (mailboxes, meetings, clock...). The Graph sim answers these itself:

* tenant: ``add_app(client_id, secret?, certificate_pem?, roles?, display_name?)``, ``remove_app(client_id)``,
  ``add_secret(client_id, secret, expires?)``, ``add_certificate(client_id, certificate_pem)``,
  ``access_policy(client_id, access_right?, mailboxes?)`` (null access_right lifts it), ``apps()``,
  ``token_lifetime(seconds)``;
* faults (Graph requests only; EWS has its own): ``throttle(count?, retry_after?, mailbox?, operation?)``
  (429 TooManyRequests), ``fail_http(status, count?, mailbox?, operation?, retry_after?, code?, message?)``
  (alias ``http_error``), ``max_concurrency(limit)`` (per app and mailbox, default 4), ``latency(ms)``,
  ``clear_faults()`` (Graph and world faults), ``faults()``;
* ``expire_delta_tokens(mailbox?)``;
* subscriptions: ``subscriptions()``, ``lifecycle(event, subscription_id?, mailbox?)``,
  ``expire_subscriptions(mailbox?)`` (removed without notice, as when they lapse);
* ``counters()`` / ``reset_counters()`` count Graph requests (by operation and outcome, by mailbox, HTTP requests).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ews_sim.world import Control, InvalidRequest, UnknownCommand

if TYPE_CHECKING:
    from graph_sim.server import GraphSimulator

JsonDict = dict[str, Any]

_GRAPH_COMMANDS = (
    "add_app", "remove_app", "add_secret", "add_certificate", "access_policy", "apps", "token_lifetime",
    "throttle", "fail_http", "http_error", "max_concurrency", "latency", "clear_faults", "faults",
    "expire_delta_tokens", "subscriptions", "lifecycle", "expire_subscriptions", "counters", "reset_counters",
    "server",
)  # fmt: skip


class GraphControl:
    def __init__(self, sim: GraphSimulator) -> None:
        self.sim = sim
        self.world_control = Control(sim.world)

    def commands(self) -> list[str]:
        return sorted(set(_GRAPH_COMMANDS) | set(self.world_control.commands()))

    def dispatch(self, command: str, params: JsonDict | None = None) -> JsonDict:
        if command not in _GRAPH_COMMANDS:
            return self.world_control.dispatch(command, params)
        try:
            result: JsonDict = getattr(self, command)(**(params or {}))
        except (TypeError, ValueError, KeyError) as exc:
            raise InvalidRequest(f"{command}: {exc}") from exc
        return result

    # -- tenant ---------------------------------------------------------------------------------------------

    def add_app(
        self,
        client_id: str,
        secret: str | None = None,
        certificate_pem: str | None = None,
        roles: list[str] | None = None,
        display_name: str = "tc-calendar",
    ) -> JsonDict:
        app = self.sim.tenant.add_app(
            client_id, secret=secret, certificate_pem=certificate_pem, roles=roles, display_name=display_name
        )
        return {"client_id": app.client_id, "thumbprints": [c.thumbprint for c in app.certificates]}

    def remove_app(self, client_id: str) -> JsonDict:
        self.sim.tenant.remove_app(client_id)
        return {}

    def add_secret(self, client_id: str, secret: str, expires: str | None = None) -> JsonDict:
        self.sim.tenant.add_secret(client_id, secret, datetime.fromisoformat(expires) if expires else None)
        return {}

    def add_certificate(self, client_id: str, certificate_pem: str) -> JsonDict:
        cert = self.sim.tenant.add_certificate(client_id, certificate_pem)
        return {"thumbprint": cert.thumbprint}

    def access_policy(
        self, client_id: str, access_right: str | None = None, mailboxes: list[str] | None = None
    ) -> JsonDict:
        self.sim.tenant.set_access_policy(client_id, access_right, mailboxes)
        return {}

    def apps(self) -> JsonDict:
        return {
            "apps": [
                {
                    "client_id": a.client_id,
                    "display_name": a.display_name,
                    "roles": sorted(a.roles),
                    "thumbprints": [c.thumbprint for c in a.certificates],
                    "access_policy": None
                    if a.access_policy is None
                    else {"access_right": a.access_policy.access_right, "mailboxes": sorted(a.access_policy.mailboxes)},
                }
                for a in self.sim.tenant.apps()
            ]
        }

    def token_lifetime(self, seconds: int) -> JsonDict:
        if int(seconds) < 1:
            raise ValueError("seconds must be positive")
        self.sim.tenant.token_lifetime = int(seconds)
        return {"token_lifetime": self.sim.tenant.token_lifetime}

    # -- faults ---------------------------------------------------------------------------------------------

    def throttle(
        self, count: int | None = 1, retry_after: int = 2, mailbox: str | None = None, operation: str | None = None
    ) -> JsonDict:
        self.sim.gate.add_fault(429, count, retry_after=retry_after, mailbox=mailbox, operation=operation)
        return self.faults()

    def fail_http(
        self,
        status: int,
        count: int | None = 1,
        mailbox: str | None = None,
        operation: str | None = None,
        retry_after: int | None = None,
        code: str | None = None,
        message: str | None = None,
    ) -> JsonDict:
        self.sim.gate.add_fault(
            int(status),
            count,
            retry_after=retry_after,
            mailbox=mailbox,
            operation=operation,
            code=code,
            message=message,
        )
        return self.faults()

    http_error = fail_http

    def max_concurrency(self, limit: int) -> JsonDict:
        if int(limit) < 1:
            raise ValueError("limit must be at least 1")
        self.sim.gate.max_concurrency = int(limit)
        return self.faults()

    def latency(self, ms: int) -> JsonDict:
        self.sim.gate.latency_ms = max(0, int(ms))
        return self.faults()

    def clear_faults(self) -> JsonDict:
        self.sim.gate.clear()
        self.world_control.dispatch("clear_faults", {})
        return self.faults()

    def faults(self) -> JsonDict:
        return {"graph": self.sim.gate.settings(), "world": self.world_control.dispatch("faults", {})}

    # -- state ----------------------------------------------------------------------------------------------

    def expire_delta_tokens(self, mailbox: str | None = None) -> JsonDict:
        return {"expired": self.sim.deltas.expire(mailbox)}

    def subscriptions(self) -> JsonDict:
        return {"subscriptions": self.sim.subscriptions.describe()}

    def lifecycle(self, event: str, subscription_id: str | None = None, mailbox: str | None = None) -> JsonDict:
        sent = self.sim.subscriptions.lifecycle(event, subscription_id=subscription_id, mailbox=mailbox)
        return {"sent": sent}

    def expire_subscriptions(self, mailbox: str | None = None) -> JsonDict:
        return {"expired": self.sim.subscriptions.expire(mailbox)}

    def counters(self) -> JsonDict:
        return {"counters": self.sim.gate.counters()}

    def reset_counters(self) -> JsonDict:
        self.sim.gate.reset_counters()
        return {}

    def server(self) -> JsonDict:
        return {
            "url": self.sim.base_url,
            "graph_url": self.sim.graph_url,
            "tenant_id": self.sim.tenant_id,
            "authority": self.sim.authority,
            "ca_file": self.sim.ca_file,
            "control_url": self.sim.control_url,
        }


__all__ = ["GraphControl", "UnknownCommand"]
