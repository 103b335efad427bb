"""The control API over HTTP: JSON in, JSON out, mapped mechanically onto the world's Python control API.

``POST /control/<command>`` with a JSON object body calls ``Control.dispatch(command, params)`` and answers
with its JSON result; ``GET /control/<command>`` does the same without parameters (``GET /control/counters``
reads the request counters). ``GET /control/server`` describes the simulator itself (URLs, certificate).
With a control token configured, requests must carry ``Authorization: Bearer <token>``.
Errors come back as ``{"error": <kind>, "message": ...}`` with 400 (bad arguments), 401 or 404 (no such
command).
"""

from __future__ import annotations

import hmac
import json
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from ews_sim.world.core import World
from ews_sim.world.errors import WorldError

if TYPE_CHECKING:
    from ews_sim.server import EwsSimulator


class _Dispatcher(Protocol):
    def dispatch(self, command: str, params: dict[str, Any]) -> Any: ...


def _to_json(value: Any) -> Any:
    """Make world results JSON-friendly (dataclasses, enums, datetimes, sets)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_to_json(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: _to_json(getattr(value, k)) for k in value.__dataclass_fields__}
    return value


def _dispatcher(world: World) -> _Dispatcher:
    from ews_sim.world.control import Control  # the world's facade; imported late to keep start-up cheap

    return Control(world)


def _server_info(sim: EwsSimulator) -> dict[str, Any]:
    return {
        "url": sim.url,
        "control_url": sim.control_url,
        "https": sim.https,
        "cert_file": sim.certificate.cert_file if sim.certificate else None,
    }


def _reply(status: int, body: Any) -> tuple[int, bytes]:
    return status, json.dumps(_to_json(body), sort_keys=True).encode("utf-8")


def handle(
    world: World, sim: EwsSimulator, method: str, command: str, body: bytes, authorization: str | None
) -> tuple[int, bytes]:
    """Run one control request; returns (HTTP status, JSON bytes)."""
    if sim.control_token is not None:
        expected = f"Bearer {sim.control_token}"
        if authorization is None or not hmac.compare_digest(authorization.encode(), expected.encode()):
            return _reply(401, {"error": "unauthorized", "message": "control token required"})
    command = command.strip("/")
    if not command:
        return _reply(404, {"error": "not_found", "message": "no command"})
    params: dict[str, Any] = {}
    if method == "POST" and body.strip():
        try:
            parsed = json.loads(body)
        except json.JSONDecodeError as exc:
            return _reply(400, {"error": "bad_json", "message": str(exc)})
        if not isinstance(parsed, dict):
            return _reply(400, {"error": "bad_json", "message": "the body must be a JSON object"})
        params = parsed
    if command == "server":
        return _reply(200, _server_info(sim))
    try:
        result = _dispatcher(world).dispatch(command, params)
    except KeyError as exc:
        return _reply(404, {"error": "unknown_command", "message": str(exc)})
    except (WorldError, TypeError, ValueError) as exc:
        return _reply(400, {"error": type(exc).__name__, "message": str(exc)})
    return _reply(200, result)
