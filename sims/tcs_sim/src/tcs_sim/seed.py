"""Seed data: a small company whose users match the Exchange simulator's mailboxes by e-mail.

A users file (``--users FILE``) is JSON: ``[{"id": "alice", "email": "alice@example.test",
"display_name": "Alice Archer"}, ...]``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tcs_sim.state import World

DEFAULT_CLIENT_ID = "tc-calendar"
DEFAULT_CLIENT_SECRET = "tc-calendar-secret"
DEFAULT_SECRET_KEY = "tcs-sim-secret-key"

DEFAULT_USERS: tuple[dict[str, str], ...] = (
    {"id": "alice", "email": "alice@example.test", "display_name": "Alice Archer"},
    {"id": "bob", "email": "bob@example.test", "display_name": "Bob Baker"},
    {"id": "carol", "email": "Carol@Example.test", "display_name": "Carol Cooper"},
    {"id": "dave", "email": "dave@example.test", "display_name": "Dave Dalton"},
    {"id": "erin", "email": "erin@example.test", "display_name": "Erin Evans"},
)

DEFAULT_CONFERENCES: tuple[dict[str, Any], ...] = (
    {"id": "5576502892", "topic": "Weekly sync", "owner": "alice", "invitations": [{"id": "bob"}]},
    {"id": "0048411003", "topic": "Board meeting", "owner": "carol"},
)


def load_users(path: Path) -> list[dict[str, Any]]:
    """Read a users file; each entry needs ``id`` and ``email``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list) or not all(isinstance(u, dict) and "id" in u and "email" in u for u in data):
        raise ValueError(f"{path}: expected a JSON list of objects with 'id' and 'email'")
    return data


def seed_world(world: World, users: list[dict[str, Any]] | None = None, *, conferences: bool = True) -> World:
    """Fill ``world`` with users, the default OAuth app and secret key, and (optionally) two conferences."""
    for user in users if users is not None else DEFAULT_USERS:
        extra = {k: v for k, v in user.items() if k not in ("id", "email", "display_name")}
        world.add_user(str(user["id"]), str(user["email"]), user.get("display_name"), **extra)
    world.add_oauth_client(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
    world.add_secret_key(DEFAULT_SECRET_KEY)
    if conferences:
        for conf in DEFAULT_CONFERENCES:
            if conf["owner"] in world.users:
                world.create_conference(conf)
    return world
