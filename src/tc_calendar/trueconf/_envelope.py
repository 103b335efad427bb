"""Turning TrueConf Server's error answers into exceptions (pure: status and body in, exception out).

v3.x answers ``{"error": {"code", "message", "errors": [{"reason", "message", ...}]}}``; the token endpoint
answers OAuth-style ``{"error": "...", "error_description": "..."}`` or ``{"reason": "InvalidCredentials"}``;
the v4 body is not public, so ``error`` may be a string or an object and anything else is tolerated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tc_calendar.trueconf.errors import (
    ConferenceNotFoundError,
    TrueConfAuthError,
    TrueConfError,
    TrueConfRequestError,
    TrueConfUnavailableError,
)

TOKEN_INVALID = "accessTokenInvalid"


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """What an error answer says, whatever its shape."""

    status: int
    reason: str | None
    message: str


def parse_error(status: int, body: bytes) -> ErrorInfo:
    """Read the reason and message out of any of TrueConf's error shapes; never raises."""
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    reason: str | None = None
    message = ""
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            message = str(error.get("message") or "")
            details = error.get("errors")
            if isinstance(details, list) and details and isinstance(details[0], dict):
                reason = _str_or_none(details[0].get("reason"))
                message = str(details[0].get("message") or message)
        elif isinstance(error, str):
            reason = error
            message = str(data.get("error_description") or data.get("message") or "")
        if reason is None:
            reason = _str_or_none(data.get("reason"))
        if not message:
            message = str(data.get("message") or "")
    if not message:
        message = body[:200].decode("utf-8", "replace").strip() if body and data is None else ""
    return ErrorInfo(status, reason, message)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def is_token_rejected(info: ErrorInfo) -> bool:
    """Whether a fresh token might help: v3 says 403 ``accessTokenInvalid``, v4 says 401."""
    return info.status == 401 or (info.status == 403 and info.reason == TOKEN_INVALID)


def error_for(info: ErrorInfo, operation: str, *, conference_id: str | None = None,
              bare_404_is_conference: bool = True) -> TrueConfError:
    """The exception for an error answer to ``operation`` (e.g. ``"run conference 123"``).

    A 404 without a reason means the conference is missing unless the request named a sub-resource
    (``bare_404_is_conference=False``, e.g. removing an invitation).
    """
    said = f"{info.reason}: {info.message}" if info.reason else (info.message or "no details")
    if info.status >= 500:
        return TrueConfUnavailableError(
            f"TrueConf Server failed to {operation} (HTTP {info.status}, {said}); will retry",
            status=info.status, reason=info.reason)
    if is_token_rejected(info):
        return TrueConfAuthError(
            f"TrueConf Server rejected the access token to {operation} (HTTP {info.status}, {said}); check "
            "trueconf.clientId/clientSecret (the OAuth2 application may have been deleted) or trueconf.token",
            status=info.status, reason=info.reason)
    if info.status in (401, 403):
        return TrueConfAuthError(
            f"TrueConf Server does not allow us to {operation} (HTTP {info.status}, {said}); give the OAuth2 "
            "application the conferences, conferences.invitations, conferences.participants and users:read scopes",
            status=info.status, reason=info.reason)
    if conference_id is not None and (info.reason == "conferenceNotFound" or (
            info.status == 404 and not info.reason and bare_404_is_conference)):
        return ConferenceNotFoundError(
            conference_id,
            f"TrueConf Server has no conference '{conference_id}' ({said}); the event links to a conference "
            "that was deleted or never existed on this server")
    return TrueConfRequestError(f"TrueConf Server refused to {operation} (HTTP {info.status}, {said})",
                                status=info.status, reason=info.reason)
