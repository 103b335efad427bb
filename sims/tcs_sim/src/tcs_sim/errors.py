"""TrueConf Server's error envelope.

Every API failure is answered the way TrueConf Server v3.x answers it (reference section 1.3)::

    {"error": {"code": 404, "message": "Not Found",
               "errors": [{"reason": "conferenceNotFound", "message": "...",
                           "locationType": "path", "location": "conference_id"}]}}

The v4 error body is not public; the simulator uses the same envelope for v4 so that a client which reads
``error`` defensively (string or object) works with both.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


class ApiError(Exception):
    """An API failure the simulator answers with the TrueConf error envelope."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        location_type: str | None = None,
        location: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.location_type = location_type
        self.location = location

    def envelope(self) -> dict[str, Any]:
        """The JSON body TrueConf Server sends for this error."""
        detail: dict[str, Any] = {"reason": self.reason, "message": self.message}
        if self.location_type is not None:
            detail["locationType"] = self.location_type
        if self.location is not None:
            detail["location"] = self.location
        return {"error": {"code": self.status, "message": HTTPStatus(self.status).phrase, "errors": [detail]}}


def conference_not_found(cid: str) -> ApiError:
    return ApiError(404, "conferenceNotFound", f"Conference '{cid}' is not found.",
                    location_type="path", location="conference_id")


def user_not_found(uid: str) -> ApiError:
    return ApiError(404, "userNotFound", f"User '{uid}' is not found.", location_type="path", location="user_id")


def invitation_not_found(cid: str, inv_id: str) -> ApiError:
    return ApiError(404, "invitationNotFound", f"Invitation '{inv_id}' of conference '{cid}' is not found.",
                    location_type="path", location="invitation_id")


def access_token_invalid() -> ApiError:
    return ApiError(403, "accessTokenInvalid", "Access token is invalid or expired.",
                    location_type="parameter", location="access_token")


def bad_request(reason: str, message: str, location: str | None = None) -> ApiError:
    return ApiError(400, reason, message, location_type="parameter" if location else None, location=location)
