"""The API's error family: every refusal a peer can get, with its JSON-RPC code and, if fatal, its close code.

One exception class per refusal keeps handlers honest (they raise what happened, the connection decides how to
say it) and gives docs/protocol.md a single table to mirror. Codes -32768..-32000 are JSON-RPC's; ours are in
-32099..-32000 ("server error" range), close codes in 4000..4999 (private use, RFC 6455 section 7.4.2).
"""

from __future__ import annotations

from typing import ClassVar

from tc_calendar.errors import TcCalendarError


class ApiError(TcCalendarError):
    """A refusal sent to the peer as a JSON-RPC error; ``close_code`` set means the socket closes after it."""

    code: ClassVar[int] = -32603
    close_code: ClassVar[int | None] = None

    def __init__(self, message: str, data: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, object]:
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


# JSON-RPC 2.0's own errors.
class ParseError(ApiError):
    code = -32700


class InvalidRequest(ApiError):
    code = -32600


class MethodNotFound(ApiError):
    code = -32601


class InvalidParams(ApiError):
    code = -32602


class InternalError(ApiError):
    code = -32603


# Authentication (fatal: the socket closes after the error).
class NotAuthenticated(ApiError):
    code = -32001
    close_code = 4001


class UnknownServerId(ApiError):
    code = -32002
    close_code = 4002


class BadProof(ApiError):
    code = -32003
    close_code = 4003


class AuthTimeout(ApiError):
    code = -32004
    close_code = 4004


class RateLimited(ApiError):
    """Too many messages on this connection; not fatal unless ``fatal`` (auth back-off, flooding)."""

    code = -32005


class AuthBackoff(RateLimited):
    """Too many failed sign-ins from this address: refused until ``retryAfter`` seconds have passed."""

    close_code = 4005


class Flooding(RateLimited):
    close_code = 4005


class TooManyConnections(ApiError):
    code = -32006
    close_code = 4006


class FrameTooLarge(ApiError):
    code = -32007


class TooManySubscriptions(ApiError):
    code = -32008


class LoginFailed(ApiError):
    """Wrong login or password, or an invalid or expired session token (one code: no user enumeration)."""

    code = -32009
    close_code = 4009


class UnknownUser(ApiError):
    code = -32010


class OverAccountLimit(ApiError):
    code = -32011


class UnknownSubscription(ApiError):
    code = -32012


class NotFound(ApiError):
    code = -32013


class InsecureTransport(ApiError):
    """``auth.login`` over plain ws:// from a non-loopback address: the password would cross the net in clear."""

    code = -32014
    close_code = 4014


class AlreadyAuthenticated(ApiError):
    code = -32015


class CursorExpired(ApiError):
    """The change log no longer holds every change after the cursor (old entries are pruned): reload."""

    code = -32016


class TooSlow(ApiError):
    """Not sent as a response: the reason of close code 4008 when the send queue stays full."""

    code = -32016
    close_code = 4008


ALL_ERRORS: tuple[type[ApiError], ...] = (
    ParseError,
    InvalidRequest,
    MethodNotFound,
    InvalidParams,
    InternalError,
    NotAuthenticated,
    UnknownServerId,
    BadProof,
    AuthTimeout,
    RateLimited,
    AuthBackoff,
    Flooding,
    TooManyConnections,
    FrameTooLarge,
    TooManySubscriptions,
    LoginFailed,
    UnknownUser,
    OverAccountLimit,
    UnknownSubscription,
    NotFound,
    InsecureTransport,
    AlreadyAuthenticated,
    TooSlow,
)
