"""What TrueConf Server returns, as typed values (parsed leniently: unknown fields are ignored)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _s(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value)


@dataclass(frozen=True, slots=True)
class Invitation:
    """One entry of a conference's scheduled participant list; ``id`` is what ``DELETE .../invitations/{id}`` takes."""

    id: str
    uid: str = ""
    display_name: str = ""
    email: str = ""
    is_owner: bool = False
    type: str = "user"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Invitation:
        return cls(id=_s(data, "id"), uid=_s(data, "uid"), display_name=_s(data, "display_name"),
                   email=_s(data, "email"), is_owner=bool(data.get("is_owner")), type=_s(data, "type") or "user")

    def is_user(self, user_id: str) -> bool:
        """Whether this invitation is for ``user_id``, given either as the short ID or as the full ``uid``."""
        wanted = user_id.lower()
        return wanted in (self.id.lower(), self.uid.lower())


@dataclass(frozen=True, slots=True)
class Conference:
    """A conference; ``state`` is ``"running"`` or ``"stopped"``."""

    id: str
    topic: str = ""
    owner: str = ""
    state: str = "stopped"
    invitations: tuple[Invitation, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def running(self) -> bool:
        return self.state == "running"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Conference:
        invitations = data.get("invitations")
        return cls(id=_s(data, "id"), topic=_s(data, "topic"), owner=_s(data, "owner"),
                   state=_s(data, "state") or "stopped",
                   invitations=tuple(Invitation.from_json(i) for i in invitations or () if isinstance(i, dict)),
                   raw=data)


@dataclass(frozen=True, slots=True)
class TrueConfUser:
    """A TrueConf Server account; ``id`` is the login, ``uid`` is ``login@server``."""

    id: str
    uid: str = ""
    email: str = ""
    display_name: str = ""
    is_active: bool = True

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrueConfUser:
        active = data.get("is_active", 1)
        return cls(id=_s(data, "id"), uid=_s(data, "uid"), email=_s(data, "email"),
                   display_name=_s(data, "display_name"), is_active=bool(active))


@dataclass(frozen=True, slots=True)
class Participant:
    """Someone in (or being called into) a running conference."""

    id: str
    display_name: str = ""
    is_in_conf: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Participant:
        return cls(id=_s(data, "id"), display_name=_s(data, "display_name"), is_in_conf=bool(data.get("is_in_conf")))
