"""API flavours: where v3.x and v4 differ, in one place.

Both serve the same resources under ``/api/<version>``; they differ in how a conference is updated (v3
``PUT``, v4 ``PATCH``), how an invitation is sent (v3 a flat object, v4 ``{"invitation": {...}}``), how users
are called into a running conference (v3 one ``POST .../participants {"participant_id"}`` per user, v4 one
``POST .../invite {"participants": [...]}``) and where the token goes (v3 is documented everywhere with the
``access_token`` query parameter, v4 with ``Authorization: Bearer``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tc_calendar.trueconf.errors import TrueConfError

_VERSION = re.compile(r"^v(3\.\d+|4(\.\d+)?)$")


@dataclass(frozen=True, slots=True)
class LiveInvite:
    """One request that calls users into a running conference."""

    path: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ApiFlavour:
    """How to say each operation to one API version."""

    version: str

    @property
    def is_v4(self) -> bool:
        return self.version.startswith("v4")

    @property
    def prefix(self) -> str:
        return f"/api/{self.version}"

    @property
    def token_in_query(self) -> bool:
        return not self.is_v4

    @property
    def update_method(self) -> str:
        return "PATCH" if self.is_v4 else "PUT"

    def conference_path(self, cid: str, suffix: str = "") -> str:
        return f"{self.prefix}/conferences/{cid}{suffix}"

    def invitation_body(self, user_id: str, display_name: str | None) -> dict[str, Any]:
        invitation: dict[str, Any] = {"id": user_id}
        if display_name:
            invitation["display_name"] = display_name
        return {"invitation": invitation} if self.is_v4 else invitation

    def live_invites(self, cid: str, user_ids: tuple[str, ...]) -> list[LiveInvite]:
        if self.is_v4:
            return [LiveInvite(self.conference_path(cid, "/invite"), {"participants": list(user_ids)})]
        return [LiveInvite(self.conference_path(cid, "/participants"), {"participant_id": u}) for u in user_ids]


def flavour_for(api_version: str) -> ApiFlavour:
    """The flavour for ``"v3.11"``, ``"v3.2"``, ``"v4"``...; anything else is a configuration mistake."""
    if not _VERSION.match(api_version):
        raise TrueConfError(f"trueconf.apiVersion {api_version!r} is not a TrueConf API version; use \"v4\" "
                            "(TrueConf Server 5.5.3 and later) or \"v3.11\"")
    return ApiFlavour(api_version)
