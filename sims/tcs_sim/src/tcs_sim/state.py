"""The simulated server's world: users, conferences, OAuth clients, tokens, faults and the request log.

One :class:`World` is shared by the HTTP handlers (running in the server's thread) and by tests or the demo
(running in another thread), so every public method takes the world's lock. Tests shape the world and read
what happened through this Python API or through the ``/_control`` HTTP routes, never by patching handlers.
"""

from __future__ import annotations

import copy
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tcs_sim import errors
from tcs_sim.records import Clock, Faults, LiveInviteRecord, RequestRecord, RunRecord, SimClock

__all__ = ["Clock", "Faults", "LiveInviteRecord", "RequestRecord", "RunRecord", "SimClock", "World"]


@dataclass
class _Token:
    expires_at: float | None
    client_id: str


@dataclass
class World:
    """Everything the simulated TrueConf Server knows."""

    server_name: str = "tcs.example.test"
    clock: Clock = field(default_factory=SimClock)
    token_lifetime: int = 604800
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    conferences: dict[str, dict[str, Any]] = field(default_factory=dict)
    oauth_clients: dict[str, str] = field(default_factory=dict)
    secret_keys: set[str] = field(default_factory=set)
    faults: Faults = field(default_factory=Faults)
    requests: list[RequestRecord] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)
    live_invites: list[LiveInviteRecord] = field(default_factory=list)
    tokens_issued: int = 0
    _tokens: dict[str, _Token] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _next_cid: int = 5576502892

    @contextmanager
    def locked(self) -> Iterator[World]:
        """Hold the world's lock for a group of reads and writes."""
        with self._lock:
            yield self

    def reset(self) -> None:
        """Forget everything (users, conferences, clients, tokens, faults, log) and restart the clock.

        Lets one running server serve many tests: each starts from ``seed_world(server.world)`` after this.
        """
        fresh = World(server_name=self.server_name)
        with self._lock:
            for name in ("clock", "token_lifetime", "users", "conferences", "oauth_clients", "secret_keys",
                         "faults", "requests", "runs", "live_invites", "tokens_issued", "_tokens", "_next_cid"):
                setattr(self, name, getattr(fresh, name))

    # ---- seeding -------------------------------------------------------------------------------------------

    def add_user(self, user_id: str, email: str, display_name: str | None = None, **extra: Any) -> dict[str, Any]:
        """Create (or replace) a TrueConf user; e-mail is kept as given, matching is the client's business."""
        first, _, last = (display_name or user_id).partition(" ")
        user = {
            "id": user_id,
            "uid": f"{user_id}@{self.server_name}",
            "login_name": user_id,
            "email": email,
            "display_name": display_name or user_id,
            "first_name": first,
            "last_name": last,
            "company": "",
            "groups": [{"id": "@no_group", "display_name": "No group"}],
            "is_active": 1,
            "status": 0,
        }
        user.update(extra)
        with self._lock:
            self.users[user_id] = user
        return copy.deepcopy(user)

    def add_oauth_client(self, client_id: str, client_secret: str) -> None:
        """Register an OAuth2 application (control panel "Web -> Security -> OAuth 2.0")."""
        with self._lock:
            self.oauth_clients[client_id] = client_secret

    def add_secret_key(self, key: str) -> None:
        """Register the server's non-expiring "Secret key", usable as a static token."""
        with self._lock:
            self.secret_keys.add(key)

    def create_conference(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a conference from a v3 or v4 create body; the owner is always its first invitation."""
        with self._lock:
            cid = str(body.get("id") or self._new_cid())
            if cid in self.conferences:
                raise errors.bad_request("uniqueValueAlreadyInUse", f"Conference ID '{cid}' is already in use.", "id")
            owner = str(body.get("owner") or "")
            if owner and owner not in self.users:
                raise errors.bad_request("userNotFound", f"Owner '{owner}' is not a user of this server.", "owner")
            conf: dict[str, Any] = {
                "id": cid,
                "type": 0,
                "topic": body.get("topic", cid),
                "owner": self.users[owner]["uid"] if owner else "",
                "description": "",
                "max_podiums": 25,
                "max_participants": 25,
                "schedule": {"type": -1},
                "url": f"https://{self.server_name}/c/{cid}",
                "webclient_url": f"https://{self.server_name}/webrtc/{cid}",
                "allow_guests": False,
                "access": "private",
                "auto_invite": 0,
                "state": "stopped",
                "tags": [],
                "created_at": int(self.clock()),
                "allow_only_planned_participants": False,
            }
            for key, value in body.items():
                if key not in ("id", "owner", "invitations", "state"):
                    conf[key] = copy.deepcopy(value)
            conf["invitations"] = []
            conf["participants"] = []
            self.conferences[cid] = conf
            if owner:
                self._add_invitation(conf, owner, None, is_owner=True)
            for inv in body.get("invitations") or []:
                if inv.get("id") != owner:
                    self._add_invitation(conf, str(inv["id"]), inv.get("display_name"))
            return self.conference_view(cid)

    def _new_cid(self) -> str:
        self._next_cid += 1
        return str(self._next_cid)

    # ---- conference operations (used by the HTTP handlers and by tests) ---------------------------------------

    def conference(self, cid: str) -> dict[str, Any]:
        """The stored conference (not a copy); raises conferenceNotFound."""
        try:
            return self.conferences[cid]
        except KeyError:
            raise errors.conference_not_found(cid) from None

    def conference_view(self, cid: str) -> dict[str, Any]:
        """A conference as the API returns it (live participants are a separate resource)."""
        with self._lock:
            conf = copy.deepcopy(self.conference(cid))
        conf.pop("participants", None)
        return conf

    def update_conference(self, cid: str, patch: dict[str, Any]) -> dict[str, Any]:
        """Apply a partial update; a running conference only accepts ``description`` (reference 1.4)."""
        with self._lock:
            conf = self.conference(cid)
            if conf["state"] == "running" and set(patch) - {"description"}:
                raise errors.bad_request("conferenceIsRunning",
                                         f"Conference '{cid}' is running; only its description can be changed.")
            for key, value in patch.items():
                if key not in ("id", "state", "invitations", "participants"):
                    conf[key] = copy.deepcopy(value)
            return self.conference_view(cid)

    def delete_conference(self, cid: str) -> None:
        with self._lock:
            self.conference(cid)
            del self.conferences[cid]

    def run_conference(self, cid: str, version: str = "test") -> None:
        """Start a conference and record the start with the scheduled list at that moment."""
        with self._lock:
            conf = self.conference(cid)
            conf["state"] = "running"
            invited = tuple(inv["id"] for inv in conf["invitations"])
            self.runs.append(RunRecord(cid, self.clock(), version, invited))

    def stop_conference(self, cid: str) -> None:
        with self._lock:
            conf = self.conference(cid)
            conf["state"] = "stopped"
            conf["participants"] = []

    def invitations(self, cid: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self.conference(cid)["invitations"])

    def add_invitation(self, cid: str, user_id: str, display_name: str | None = None) -> dict[str, Any]:
        with self._lock:
            conf = self.conference(cid)
            if any(inv["id"] == user_id for inv in conf["invitations"]):
                raise errors.bad_request("uniqueValueAlreadyInUse",
                                         f"'{user_id}' is already invited to conference '{cid}'.", "id")
            return copy.deepcopy(self._add_invitation(conf, user_id, display_name))

    def _add_invitation(self, conf: dict[str, Any], user_id: str, display_name: str | None,
                        *, is_owner: bool = False) -> dict[str, Any]:
        user = self.users.get(user_id)
        inv = {
            "id": user_id,
            "uid": user["uid"] if user else user_id,
            "display_name": display_name or (user["display_name"] if user else user_id),
            "email": user["email"] if user else "",
            "is_owner": is_owner,
            "type": "user" if user else "custom",
        }
        conf["invitations"].append(inv)
        return inv

    def remove_invitation(self, cid: str, inv_id: str) -> None:
        with self._lock:
            conf = self.conference(cid)
            kept = [inv for inv in conf["invitations"] if inv["id"] != inv_id]
            if len(kept) == len(conf["invitations"]):
                raise errors.invitation_not_found(cid, inv_id)
            conf["invitations"] = kept

    def participants(self, cid: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self.conference(cid)["participants"])

    def invite_live(self, cid: str, user_ids: list[str], version: str = "test") -> None:
        """Call users into a running conference now, without touching its scheduled list."""
        with self._lock:
            conf = self.conference(cid)
            if conf["state"] != "running":
                raise errors.bad_request("conferenceNotRunning",
                                         f"Conference '{cid}' is not running; start it before inviting.")
            for user_id in user_ids:
                if user_id not in self.users:
                    raise errors.bad_request("userNotFound", f"User '{user_id}' is not found.", "participants")
            present = {p["id"] for p in conf["participants"]}
            for user_id in user_ids:
                if user_id not in present:
                    user = self.users[user_id]
                    conf["participants"].append({"id": user_id, "uid": user["uid"],
                                                 "display_name": user["display_name"], "is_in_conf": False,
                                                 "invited_at": int(self.clock())})
            self.live_invites.append(LiveInviteRecord(cid, self.clock(), version, tuple(user_ids)))

    # ---- tokens and faults --------------------------------------------------------------------------------

    def issue_token(self, client_id: str, client_secret: str) -> dict[str, Any]:
        """OAuth2 client credentials grant; raises ValueError for an unknown client or a wrong secret."""
        with self._lock:
            if self.oauth_clients.get(client_id) != client_secret:
                raise ValueError("invalid_client")
            token = secrets.token_hex(20)
            self._tokens[token] = _Token(self.clock() + self.token_lifetime, client_id)
            self.tokens_issued += 1
            return {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime,
                    "scope": "conferences conferences:read conferences:write conferences.invitations "
                             "conferences.participants users users:read"}

    def check_token(self, token: str | None) -> None:
        """Raise accessTokenInvalid unless ``token`` is a live token or a secret key (and no fault is armed)."""
        with self._lock:
            if self.faults.token_failures > 0:
                self.faults.token_failures -= 1
                raise errors.access_token_invalid()
            if token is None:
                raise errors.access_token_invalid()
            if token in self.secret_keys:
                return
            issued = self._tokens.get(token)
            if issued is None or (issued.expires_at is not None and self.clock() >= issued.expires_at):
                raise errors.access_token_invalid()

    def revoke_tokens(self) -> None:
        """Invalidate every issued token (as if they expired or the OAuth app was re-created)."""
        with self._lock:
            self._tokens.clear()

    def take_server_error(self, path: str = "") -> int | None:
        """Consume one armed 5xx fault that applies to ``path``; the status to answer with, or None."""
        with self._lock:
            wanted = self.faults.server_error_path
            if self.faults.server_errors > 0 and (wanted is None or path.endswith(wanted)):
                self.faults.server_errors -= 1
                return self.faults.server_error_status
            return None

    def set_faults(self, *, token_failures: int | None = None, server_errors: int | None = None,
                   server_error_status: int | None = None, server_error_path: str | None = None,
                   latency: float | None = None) -> None:
        """Arm faults; arguments left as None keep their current value."""
        with self._lock:
            if token_failures is not None:
                self.faults.token_failures = token_failures
            if server_errors is not None:
                self.faults.server_errors = server_errors
            if server_error_status is not None:
                self.faults.server_error_status = server_error_status
            if server_error_path is not None:
                self.faults.server_error_path = server_error_path or None
            if latency is not None:
                self.faults.latency = latency

    def clear_faults(self) -> None:
        with self._lock:
            self.faults = Faults()

    # ---- the log ------------------------------------------------------------------------------------------

    def record(self, method: str, path: str, status: int, version: str | None) -> None:
        with self._lock:
            self.requests.append(RequestRecord(self.clock(), method, path, status, version))

    def requests_to(self, method: str, path_suffix: str) -> list[RequestRecord]:
        """Logged requests with this method whose path ends with ``path_suffix``."""
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path.endswith(path_suffix)]

    def runs_of(self, cid: str) -> list[RunRecord]:
        with self._lock:
            return [r for r in self.runs if r.conference_id == cid]

    def snapshot(self) -> dict[str, Any]:
        """Everything tests and the demo may want to assert on, as JSON-ready data."""
        with self._lock:
            return {
                "users": copy.deepcopy(list(self.users.values())),
                "conferences": copy.deepcopy(list(self.conferences.values())),
                "runs": [{"conference_id": r.conference_id, "at": r.at, "version": r.version,
                          "invitations": list(r.invitations)} for r in self.runs],
                "live_invites": [{"conference_id": r.conference_id, "at": r.at, "version": r.version,
                                  "user_ids": list(r.user_ids)} for r in self.live_invites],
                "requests": [{"at": r.at, "method": r.method, "path": r.path, "status": r.status,
                              "version": r.version} for r in self.requests],
                "tokens_issued": self.tokens_issued,
                "faults": {"token_failures": self.faults.token_failures, "server_errors": self.faults.server_errors,
                           "server_error_status": self.faults.server_error_status,
                           "server_error_path": self.faults.server_error_path, "latency": self.faults.latency},
            }
