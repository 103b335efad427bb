"""Graph ids over the world's EWS ids, and user ids.

Graph's event ids are Exchange's ItemIds in URL-safe base64 (``+`` and ``/`` become ``-`` and ``_``), which is
exactly what Exchange Online hands out: the same item has the "same" id through EWS and Graph, translated
(as ``translateExchangeIds`` does between ``ewsId`` and ``restId``). Users have a GUID ``id`` (a stable UUID
derived from the SMTP address here) and are also addressable by userPrincipalName (their SMTP address).
"""

from __future__ import annotations

import uuid

_USER_NAMESPACE = uuid.UUID("5d2b8c1e-7a34-4f0e-9b61-3c8a2e4f7d90")


def rest_id(ews_id: str) -> str:
    """The Graph (REST) id of an EWS ItemId."""
    return ews_id.replace("+", "-").replace("/", "_")


def ews_id(graph_id: str) -> str:
    """The EWS ItemId of a Graph id (the world rejects ids that are not ours as malformed)."""
    return graph_id.replace("-", "+").replace("_", "/")


def user_id(smtp: str) -> str:
    """The Entra object id of a mailbox's user."""
    return str(uuid.uuid5(_USER_NAMESPACE, smtp.strip().lower()))
