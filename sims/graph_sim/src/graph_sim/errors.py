"""Graph's error responses: ``{"error": {"code", "message", "innerError": {...}}}`` with an HTTP status.

Outlook resources in Graph report Exchange's own codes (``ErrorItemNotFound``, ``ErrorInvalidIdMalformed``,
``ErrorAccessDenied``...), so a world error maps to a Graph error by its EWS response code.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from ews_sim.world import (
    AccessDenied,
    EwsError,
    InvalidIdMalformed,
    ItemNotFound,
    MailboxUnavailable,
    NonExistentMailbox,
    OccurrenceDeleted,
    OccurrenceIndexOutOfRange,
)


class GraphError(Exception):
    """An error answered as Graph's error JSON with ``status``; ``headers`` (e.g. Retry-After) are added."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def body(self, request_id: str | None = None, client_request_id: str | None = None) -> dict[str, Any]:
        request_id = request_id or str(uuid.uuid4())
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                    "request-id": request_id,
                    "client-request-id": client_request_id or request_id,
                },
            }
        }


def bad_request(message: str, code: str = "BadRequest") -> GraphError:
    return GraphError(400, code, message)


def invalid_user(user: str) -> GraphError:
    return GraphError(404, "ErrorInvalidUser", f"The requested user '{user}' is invalid.")


def item_not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def access_policy_denied() -> GraphError:
    return GraphError(
        403,
        "ErrorAccessDenied",
        "Access to OData is disabled: Blocked by tenant configured AppOnly AccessPolicy settings.",
    )


def permission_denied() -> GraphError:
    return GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")


def throttled(retry_after: int, message: str = "Application is over its MailboxConcurrency limit.") -> GraphError:
    code = "ApplicationThrottled" if "MailboxConcurrency" in message else "TooManyRequests"
    return GraphError(429, code, message, {"Retry-After": str(retry_after)})


def from_world(exc: EwsError) -> GraphError:
    """The Graph error for a world (EWS) error."""
    if isinstance(exc, NonExistentMailbox):
        return GraphError(404, "ErrorInvalidUser", "The requested user is invalid.")
    if isinstance(exc, InvalidIdMalformed):
        return GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")
    if isinstance(exc, ItemNotFound | OccurrenceDeleted | OccurrenceIndexOutOfRange):
        return item_not_found()
    if isinstance(exc, AccessDenied):
        return permission_denied()
    if isinstance(exc, MailboxUnavailable):
        return GraphError(503, exc.response_code, exc.message, {"Retry-After": "5"})
    status = 500 if exc.response_code in ("ErrorInternalServerError", "ErrorInternalServerTransientError") else 400
    return GraphError(status, exc.response_code, exc.message)
