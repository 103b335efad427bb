"""One Exchange world behind both protocols, and connector configs that read it: EWS for the on-premises
mailboxes, Microsoft Graph for the cloud ones (a hybrid organization), as ``tc_calendar run`` would."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ews_sim.server import EwsSimulator
from ews_sim.world import World
from graph_sim.server import GraphSimulator
from tc_calendar.crypto import SecretBox
from tc_calendar.engine.runner import SyncOptions

SERVICE_LOGIN, SERVICE_PASSWORD = "svc-sync", "Sync!pass1"
ONPREM = "olivia@corp.test"
"""A mailbox on Exchange Server, read through EWS."""
ALICE, BOB, CAROL = "alice@corp.test", "bob@corp.test", "carol@corp.test"
"""Mailboxes in Exchange Online, read through Graph."""
WEB_LOGIN, WEB_PASSWORD = "admin", "web admin password"


def make_world() -> World:
    world = World()
    world.add_service_account(SERVICE_LOGIN, SERVICE_PASSWORD, impersonation=True)
    for smtp, name in ((ONPREM, "Olivia Onprem"), (ALICE, "Alice Archer"), (BOB, "Bob Baker"), (CAROL, "Carol Cook")):
        world.add_mailbox(smtp, name, "Europe/Berlin")
    return world


def quick_sync() -> SyncOptions:
    return SyncOptions(
        auto_sync=True, backward_months=1, forward_months=2, poll_interval=30.0, fallback_poll_interval=30.0
    )


def graph_entry(graph: GraphSimulator, box: SecretBox, users: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "type": "graph",
        "tenantId": graph.tenant_id,
        "clientId": graph.client_id,
        "clientSecret": box.encrypt(graph.client_secret),
        "authorityHost": graph.base_url,
        "graphHost": graph.base_url,
        "caBundle": graph.ca_file,
        "pollIntervalSeconds": 0.5,
        "users": users,
        **extra,
    }


def ews_entry(ews: EwsSimulator, box: SecretBox, users: list[str]) -> dict[str, Any]:
    port = int(ews.url.rsplit(":", 1)[1].split("/", 1)[0])
    return {
        "type": "ews",
        "host": "127.0.0.1",
        "port": port,
        "scheme": "http",
        "exchangeVersion": "Exchange2016",
        "auth": "basic",
        "path": "/EWS/Exchange.asmx",
        "credentials": [{"login": SERVICE_LOGIN, "password": box.encrypt(SERVICE_PASSWORD)}],
        "users": users,
    }


def write_config(tmp_path: Path, providers: Callable[[SecretBox], list[dict[str, Any]]], **extra: Any) -> Path:
    box = SecretBox.load_or_create(tmp_path / "calendar.key")
    config: dict[str, Any] = {
        "wsPort": 4315,
        "launchConference": False,
        "cache": {"autoSync": True, "backward": 1, "forward": 2},
        "productWhitelist": {"tcs": ["tcs.corp.test#vcs"]},
        "calendarProviders": providers(box),
        "web": {"users": {WEB_LOGIN: box.encrypt(WEB_PASSWORD)}},
    }
    config.update(extra)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


