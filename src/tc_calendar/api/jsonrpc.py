"""JSON-RPC 2.0 framing, sans I/O: text in, requests out; results and errors in, text out.

Nothing here knows about sockets, sessions or methods, so every framing rule (parse errors, invalid requests,
batches, notifications) is tested on strings alone. Parameters are by name only: our methods take objects, and
positional parameters would make the schemas ambiguous.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tc_calendar.api.errors import ApiError, InvalidRequest, ParseError

RequestId = int | str | None

#: Deepest nesting accepted in a frame: deeper documents are refused before Python's recursion limit is near.
MAX_DEPTH = 32


@dataclass(frozen=True, slots=True)
class Request:
    """One call; ``is_notification`` when the peer sent no ``id`` and so expects no response."""

    method: str
    params: dict[str, Any]
    id: RequestId
    is_notification: bool = False


@dataclass(frozen=True, slots=True)
class Invalid:
    """A batch member or single message that is not a valid request; answered with ``error`` and ``id``."""

    id: RequestId
    error: ApiError


Item = Request | Invalid


@dataclass(frozen=True, slots=True)
class Incoming:
    """A decoded frame: its items and whether they came as a batch (then the answers go back as an array)."""

    items: tuple[Item, ...]
    is_batch: bool


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth(value: Any, limit: int) -> int:
    stack: list[tuple[Any, int]] = [(value, 1)]
    deepest = 0
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return deepest


def _valid_id(value: Any) -> bool:
    return value is None or isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def parse_item(obj: Any) -> Item:
    """Check one request object against JSON-RPC 2.0 section 4."""
    if not isinstance(obj, dict):
        return Invalid(None, InvalidRequest("a request must be a JSON object"))
    raw_id = obj.get("id")
    request_id: RequestId = raw_id if _valid_id(raw_id) else None
    if not _valid_id(raw_id):
        return Invalid(None, InvalidRequest("id must be a string, an integer or null"))
    if obj.get("jsonrpc") != "2.0":
        return Invalid(request_id, InvalidRequest('"jsonrpc" must be exactly "2.0"'))
    method = obj.get("method")
    if not isinstance(method, str) or not method:
        return Invalid(request_id, InvalidRequest('"method" must be a non-empty string'))
    params = obj.get("params", {})
    if isinstance(params, list):
        return Invalid(request_id, InvalidRequest("params must be an object (by name); positional params are not used"))
    if not isinstance(params, dict):
        return Invalid(request_id, InvalidRequest("params must be an object"))
    extra = set(obj) - {"jsonrpc", "method", "params", "id"}
    if extra:
        return Invalid(request_id, InvalidRequest(f"unexpected members: {', '.join(sorted(extra))}"))
    return Request(method=method, params=params, id=request_id, is_notification="id" not in obj)


def decode(frame: str | bytes, *, max_batch: int) -> Incoming:
    """Decode one text frame; raises :class:`ParseError` or :class:`InvalidRequest` for the whole frame."""
    too_deep = InvalidRequest(f"nesting deeper than {MAX_DEPTH} levels")
    try:
        doc = json.loads(frame, parse_constant=_reject_constant)
    except RecursionError:  # far deeper than MAX_DEPTH: the same refusal, not the interpreter's words
        raise too_deep from None
    except ValueError as exc:
        raise ParseError(f"invalid JSON: {exc}") from None
    if _depth(doc, MAX_DEPTH) > MAX_DEPTH:
        raise too_deep
    if isinstance(doc, list):
        if not doc:
            raise InvalidRequest("empty batch")
        if len(doc) > max_batch:
            raise InvalidRequest(f"batch of {len(doc)} requests; at most {max_batch} are accepted")
        return Incoming(tuple(parse_item(obj) for obj in doc), is_batch=True)
    return Incoming((parse_item(doc),), is_batch=False)


def _dumps(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def result_obj(request_id: RequestId, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def error_obj(request_id: RequestId, error: ApiError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_json()}


def encode(doc: dict[str, Any] | list[dict[str, Any]]) -> str:
    return _dumps(doc)


def notification(method: str, params: dict[str, Any]) -> str:
    """A server-to-client notification (no ``id``): how ``changes.notify`` is pushed."""
    return _dumps({"jsonrpc": "2.0", "method": method, "params": params})


def request(method: str, params: dict[str, Any], request_id: RequestId) -> str:
    """A client-side request, used by :mod:`tc_calendar.api.client`."""
    return _dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": request_id})
