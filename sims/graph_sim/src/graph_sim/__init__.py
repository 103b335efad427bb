"""graph_sim: a Microsoft Graph v1.0 calendar API (and its token endpoint) over the ews_sim Exchange world."""

from graph_sim.server import GraphSimulator
from graph_sim.tenant import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, AppRegistration, Tenant

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_TENANT_ID",
    "AppRegistration",
    "GraphSimulator",
    "Tenant",
]
