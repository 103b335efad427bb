"""Graph scenario files: an ews_sim scenario (mailboxes, meetings...) plus the Entra tenant.

Extra top-level keys (the rest is ews_sim's format, see sims/ews_sim/README.md)::

    "tenant": {"id": "8f3c2a9e-...", "domains": ["nordwind.example"], "token_lifetime_seconds": 3599},
    "apps": [
      {"client_id": "...", "display_name": "tc-calendar", "secrets": ["..."],
       "certificates": [{"file": "app.pem"} | {"pem": "-----BEGIN CERTIFICATE-----..."}],
       "roles": ["Calendars.Read"],
       "access_policy": {"access_right": "RestrictAccess", "mailboxes": ["anna@nordwind.example"]}}
    ]

Certificate files are read relative to the scenario file's directory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ews_sim.world import ScenarioError, World, load_scenario
from graph_sim.tenant import Tenant

_GRAPH_KEYS = {"tenant", "apps"}
_APP_KEYS = {"client_id", "display_name", "secrets", "certificates", "roles", "access_policy"}


def read_scenario(source: str | Path | dict[str, Any]) -> tuple[dict[str, Any], Path | None]:
    if isinstance(source, dict):
        return dict(source), None
    path = Path(source)
    try:
        return json.loads(path.read_text(encoding="utf-8")), path.parent
    except (OSError, json.JSONDecodeError) as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc}") from exc


def load_graph_scenario(source: str | Path | dict[str, Any], world: World, tenant: Tenant) -> None:
    """Load the world part into ``world`` and the tenant part into ``tenant``."""
    data, directory = read_scenario(source)
    graph = {k: data.pop(k) for k in list(data) if k in _GRAPH_KEYS}
    if {"mailboxes", "meetings", "appointments", "service_accounts", "delegates"} & set(data):
        load_scenario(data, world)
    apply_tenant(graph, tenant, directory)


def apply_tenant(graph: dict[str, Any], tenant: Tenant, directory: Path | None) -> None:
    info = graph.get("tenant") or {}
    if not isinstance(info, dict):
        raise ScenarioError("tenant must be an object")
    if "id" in info:
        tenant.tenant_id = str(info["id"]).lower()
    tenant.domains |= {str(d).lower() for d in info.get("domains", [])}
    if "token_lifetime_seconds" in info:
        tenant.token_lifetime = int(info["token_lifetime_seconds"])
    for index, entry in enumerate(graph.get("apps") or []):
        where = f"apps[{index}]"
        if not isinstance(entry, dict) or "client_id" not in entry:
            raise ScenarioError(f"{where}: an app needs a client_id")
        unknown = set(entry) - _APP_KEYS
        if unknown:
            raise ScenarioError(f"{where}: unknown keys {sorted(unknown)}")
        app = tenant.add_app(
            str(entry["client_id"]),
            roles=entry.get("roles"),
            display_name=str(entry.get("display_name", "tc-calendar")),
        )
        for secret in entry.get("secrets", []):
            tenant.add_secret(app.client_id, str(secret))
        for cert in entry.get("certificates", []):
            if "pem" in cert:
                pem = str(cert["pem"]).encode()
            elif "file" in cert:
                path = Path(cert["file"])
                if not path.is_absolute() and directory is not None:
                    path = directory / path
                try:
                    pem = path.read_bytes()
                except OSError as exc:
                    raise ScenarioError(f"{where}: cannot read certificate {path}: {exc}") from exc
            else:
                raise ScenarioError(f"{where}: a certificate needs 'file' or 'pem'")
            try:
                tenant.add_certificate(app.client_id, pem)
            except ValueError as exc:
                raise ScenarioError(f"{where}: not a PEM certificate: {exc}") from exc
        policy = entry.get("access_policy")
        if policy is not None:
            try:
                tenant.set_access_policy(app.client_id, policy.get("access_right"), policy.get("mailboxes", []))
            except ValueError as exc:
                raise ScenarioError(f"{where}: {exc}") from exc
