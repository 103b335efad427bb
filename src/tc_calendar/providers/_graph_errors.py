"""Turn Microsoft Graph's error answers into the provider error hierarchy, with messages an administrator can act on.

Graph answers an error with an HTTP status and a JSON body ``{"error": {"code": ..., "message": ...}}``. What the
codes mean for a calendar reader, and what the admin does about it:

* 401: the access token was refused (expired, or the app's secret or certificate was revoked). The HTTP client
  renews the token once; a second refusal is an :class:`AuthError`.
* 403 ``ErrorAccessDenied``: the mailbox is outside the app's Application Access Policy (or the app lacks the
  ``Calendars.Read`` application permission): a :class:`MailboxError` of that mailbox, the others go on.
* 404 (``ErrorInvalidUser``, ``ResourceNotFound``, ``MailboxNotEnabledForRESTAPI``...): no such mailbox, or one
  Graph cannot read (on-premises in a hybrid organization: read it through an EWS provider).
* 410 ``syncStateNotFound`` / ``resyncRequired`` (and 400 ``syncStateInvalid``): the delta link is no longer
  accepted; the engine resynchronizes the window.
* 429 and 503 with ``Retry-After``: throttling of this mailbox; the engine waits that long before the mailbox's
  next request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from tc_calendar.providers.base import (
    AuthError,
    InvalidSyncStateError,
    MailboxError,
    MailboxErrorReason,
    ProviderError,
    SubscriptionExpiredError,
    ThrottledError,
    TransientError,
)

DEFAULT_RETRY_AFTER_SECONDS = 10.0
"""Used when Graph throttles without a Retry-After header (it normally sends one)."""

_SYNC_STATE_CODES = {"syncstatenotfound", "resyncrequired", "syncstateinvalid", "invaliddeltatoken"}
_NOT_FOUND_CODES = {
    "errorinvaliduser",
    "resourcenotfound",
    "mailboxnotenabledforrestapi",
    "errornonexistentmailbox",
    "request_resourcenotfound",
}


@dataclass(frozen=True, slots=True)
class GraphErrorBody:
    """What Graph said: the status, the ``error.code`` and ``error.message`` of its body, its ``Retry-After``."""

    status: int
    code: str = ""
    message: str = ""
    retry_after: float | None = None

    @classmethod
    def parse(cls, status: int, body: Any, headers: Any = None) -> GraphErrorBody:
        """From a status, a body (bytes, text or parsed JSON) and headers (any mapping, case as Graph sends)."""
        if isinstance(body, bytes | str):
            try:
                body = json.loads(body or "{}")
            except ValueError:
                body = {}
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        return cls(status, str(error.get("code") or ""), str(error.get("message") or ""), _retry_after(headers))


def _retry_after(headers: Any) -> float | None:
    if not headers:
        return None
    value = None
    for key, found in dict(headers).items():
        if str(key).lower() == "retry-after":
            value = found
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def map_error(error: GraphErrorBody, *, mailbox: str | None, graph: str) -> ProviderError:
    """The provider error for Graph's answer ``error`` to a request for ``mailbox``."""
    code, status = error.code.lower(), error.status
    said = f"{error.code}: {error.message}" if error.code else f"HTTP {status}"
    if status in (429, 503) or code in ("toomanyrequests", "applicationthrottled", "mailboxconcurrency"):
        wait = error.retry_after if error.retry_after is not None else DEFAULT_RETRY_AFTER_SECONDS
        return ThrottledError(
            f"Microsoft Graph throttles this mailbox ({said}); waiting {wait:.1f}s as Retry-After asks",
            backoff_seconds=wait,
            mailbox=mailbox,
        )
    if code in _SYNC_STATE_CODES or status == 410:
        return InvalidSyncStateError(
            f"Microsoft Graph no longer accepts the saved delta link ({said}); resynchronizing the window",
            mailbox=mailbox,
        )
    if status == 401:
        return AuthError(
            f"Microsoft Graph at {graph} refused the app's access token ({said}); check the app registration's "
            "secret or certificate and that it is not expired (calendarProviders[].clientSecret / certificate)",
            mailbox=mailbox,
        )
    if status == 403:
        return MailboxError(
            f"the app may not read this mailbox ({said}); add the mailbox to the app's Application Access Policy "
            "(New-ApplicationAccessPolicy) or grant the Calendars.Read application permission with admin consent",
            reason=MailboxErrorReason.ACCESS_DENIED,
            mailbox=mailbox,
        )
    if status == 404 or code in _NOT_FOUND_CODES:
        return MailboxError(
            f"no such mailbox in Exchange Online ({said}); check the address in users (an on-premises mailbox "
            "is read through an EWS provider)",
            reason=MailboxErrorReason.NOT_FOUND,
            mailbox=mailbox,
        )
    if code in ("subscriptionnotfound", "extensionerror") and status in (400, 404):
        return SubscriptionExpiredError(f"change subscription lost ({said})", mailbox=mailbox)
    if status >= 500 or status == 408:
        return TransientError(f"Microsoft Graph at {graph} failed ({said})", mailbox=mailbox)
    return ProviderError(f"Microsoft Graph answered {said}", mailbox=mailbox)


def map_transport_error(exc: BaseException, *, mailbox: str | None, graph: str) -> ProviderError:
    """A network failure (no answer at all) as a transient error."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, httpx.TransportError | OSError | TimeoutError):
        return TransientError(f"cannot reach Microsoft Graph at {graph}: {type(exc).__name__}: {exc}", mailbox=mailbox)
    return ProviderError(f"unexpected failure talking to Microsoft Graph: {type(exc).__name__}: {exc}", mailbox=mailbox)
