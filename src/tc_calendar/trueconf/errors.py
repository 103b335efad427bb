"""Errors at the TrueConf Server boundary.

The launcher decides what to do from the type alone: :class:`TrueConfUnavailableError` is worth retrying
later (``retryable``), everything else needs a person (wrong credentials, a conference that was deleted, a
request the server refused). Messages name the operation, the server's own reason and the config key to look
at, because they end up in the administrator's log.
"""

from __future__ import annotations

from tc_calendar.errors import TcCalendarError


class TrueConfError(TcCalendarError):
    """Base of every failure talking to TrueConf Server's REST API.

    ``status`` is the HTTP status (``None`` when no answer arrived) and ``reason`` the server's machine-readable
    reason (``conferenceNotFound``, ``accessTokenInvalid``...), when it sent one.
    """

    retryable: bool = False

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class TrueConfAuthError(TrueConfError):
    """TrueConf Server refused our credentials or token, or the token lacks a needed scope."""


class TrueConfUnavailableError(TrueConfError):
    """No usable answer: connection refused, timeout, TLS failure or a 5xx. Try again later.

    ``maybe_done``: the request may have reached TrueConf Server and taken effect although no answer came back (it
    was sent and the connection broke or timed out before the answer, or a gateway answered 502/504). For ``run``
    that means the conference may have been started.
    """

    retryable = True

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None,
                 maybe_done: bool = False) -> None:
        super().__init__(message, status=status, reason=reason)
        self.maybe_done = maybe_done or status in (502, 504)


class TrueConfRequestError(TrueConfError):
    """The server understood the request and refused it (a 4xx other than authentication)."""


class ConferenceNotFoundError(TrueConfRequestError):
    """The conference an event links to does not exist on TrueConf Server (deleted, or a wrong link)."""

    def __init__(self, conference_id: str, message: str | None = None) -> None:
        super().__init__(
            message or f"TrueConf Server has no conference '{conference_id}'; the event's conference link points "
            "to a conference that was deleted or never existed on this server",
            status=404,
            reason="conferenceNotFound",
        )
        self.conference_id = conference_id
