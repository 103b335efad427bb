"""JSON batching: ``POST /v1.0/$batch`` with up to 20 requests, each answered with its own status.

Each part (``id``, ``method``, ``url`` relative to the version root, optional ``headers``, ``body`` and
``dependsOn``) runs through the same dispatcher as a plain request, with the batch's token, so throttling,
access policies and faults apply per part: a 429 part carries ``Retry-After`` in its own headers while the batch
answers 200. Parts without dependencies run concurrently; a part whose dependency failed is 424.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from graph_sim.api import Call, Reply
from graph_sim.errors import GraphError, bad_request

MAX_REQUESTS = 20
_METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE"}

Dispatch = Callable[[Call], Awaitable[Reply]]


def _part_error(part_id: str, status: int, code: str, message: str) -> dict[str, Any]:
    return {
        "id": part_id,
        "status": status,
        "headers": {"Content-Type": "application/json"},
        "body": GraphError(status, code, message).body(),
    }


async def run_batch(call: Call, dispatch: Dispatch) -> Reply:
    body = call.body
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
        raise bad_request("Invalid batch payload format.", "BadRequest")
    parts: list[dict[str, Any]] = body["requests"]
    if not parts:
        raise bad_request("The batch request must contain at least one request.", "BadRequest")
    if len(parts) > MAX_REQUESTS:
        raise bad_request(f"Number of requests exceeds the limit of {MAX_REQUESTS}.", "BadRequest")
    ids = [str(p.get("id", "")) if isinstance(p, dict) else "" for p in parts]
    if any(not i for i in ids):
        raise bad_request("Each request in a batch needs an id.", "BadRequest")
    if len(set(ids)) != len(ids):
        raise bad_request("Batch request ids must be unique.", "BadRequest")
    for part in parts:
        for dep in part.get("dependsOn") or []:
            if str(dep) not in ids:
                raise bad_request(f"dependsOn '{dep}' names no request of the batch.", "BadRequest")

    results: dict[str, dict[str, Any]] = {}
    done: dict[str, asyncio.Event] = {i: asyncio.Event() for i in ids}

    async def run(part: dict[str, Any]) -> None:
        part_id = str(part["id"])
        try:
            for dep in part.get("dependsOn") or []:
                await done[str(dep)].wait()
                if not 200 <= results[str(dep)]["status"] < 300:
                    results[part_id] = _part_error(
                        part_id, 424, "FailedDependency", f"Request '{dep}' that this request depends on failed."
                    )
                    return
            results[part_id] = await _run_part(call, part, dispatch)
        finally:
            done[part_id].set()

    await asyncio.gather(*(run(p) for p in parts))
    return Reply(200, {"responses": [results[i] for i in ids]})


async def _run_part(batch: Call, part: dict[str, Any], dispatch: Dispatch) -> dict[str, Any]:
    part_id = str(part["id"])
    method = str(part.get("method", "")).upper()
    url = str(part.get("url", ""))
    if method not in _METHODS:
        return _part_error(part_id, 400, "BadRequest", f"Invalid method '{part.get('method')}'.")
    split = urlsplit(url)
    if split.scheme or split.netloc:
        return _part_error(part_id, 400, "BadRequest", "Invalid request URL: batch requests take relative URLs.")
    path = unquote(split.path).lstrip("/")  # as in a plain request, whose path the server decodes
    if path.lower().startswith("v1.0/"):
        path = path[len("v1.0/") :]
    if path.lower().startswith("$batch"):
        return _part_error(part_id, 400, "BadRequest", "Batch requests cannot be nested.")
    headers = {str(k).lower(): str(v) for k, v in (part.get("headers") or {}).items()}
    if "body" in part and part["body"] is not None and "content-type" not in headers:
        return _part_error(part_id, 400, "BadRequest", "A request with a body needs a Content-Type header.")
    reply = await dispatch(
        Call(method, path, dict(parse_qsl(split.query, keep_blank_values=True)), headers, part.get("body"),
             batch.claims, batch.graph_url)
    )  # fmt: skip
    result: dict[str, Any] = {"id": part_id, "status": reply.status, "headers": dict(reply.headers)}
    if reply.body is not None:
        result["headers"]["Content-Type"] = "application/json; odata.metadata=minimal; odata.streaming=true"
        result["body"] = reply.body
    return result
