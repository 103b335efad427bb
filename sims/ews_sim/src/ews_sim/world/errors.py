"""Errors of the world, one class per EWS ResponseCode.

The protocol layer turns a raised :class:`EwsError` into a ResponseMessage with ``ResponseClass="Error"``,
``ResponseCode=<error.response_code>`` and ``MessageText=<str(error)>``; :class:`ServerBusy` also carries
``MessageXml`` with ``BackOffMilliseconds``. Errors that are not EWS response codes (HTTP-level faults, a dropped
streaming connection) do not derive from :class:`EwsError`.
"""

from __future__ import annotations


class WorldError(Exception):
    """Base of everything the world raises on purpose."""


class EwsError(WorldError):
    """An error the protocol layer reports as an EWS ResponseCode."""

    response_code: str = "ErrorInternalServerError"
    default_message: str = "An internal server error occurred. The operation failed."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)

    @property
    def message(self) -> str:
        return str(self.args[0])


class NonExistentMailbox(EwsError):
    response_code = "ErrorNonExistentMailbox"
    default_message = "The SMTP address has no mailbox associated with it."


class ImpersonateUserDenied(EwsError):
    response_code = "ErrorImpersonateUserDenied"
    default_message = "The account does not have permission to impersonate the requested user."


class AccessDenied(EwsError):
    response_code = "ErrorAccessDenied"
    default_message = "Access is denied. Check credentials and try again."


class MailboxUnavailable(EwsError):
    """The mailbox database cannot be reached (a fault switched on through the control API)."""

    response_code = "ErrorMailboxStoreUnavailable"
    default_message = "The mailbox database is temporarily unavailable."


class MailboxMoveInProgress(MailboxUnavailable):
    response_code = "ErrorMailboxMoveInProgress"
    default_message = "The mailbox is being moved. Try again later."


class InternalServerTransientError(EwsError):
    response_code = "ErrorInternalServerTransientError"
    default_message = "An internal server error occurred. Try again later."


class ItemCorrupt(EwsError):
    """GetItem of an item whose properties cannot be read (FindItem still lists it)."""

    response_code = "ErrorItemCorrupt"
    default_message = "The item is corrupt."


class ItemNotFound(EwsError):
    response_code = "ErrorItemNotFound"
    default_message = "The specified object was not found in the store."


class FolderNotFound(EwsError):
    response_code = "ErrorFolderNotFound"
    default_message = "The specified folder could not be found in the store."


class InvalidIdMalformed(EwsError):
    response_code = "ErrorInvalidIdMalformed"
    default_message = "Id is malformed."


class InvalidSyncStateData(EwsError):
    response_code = "ErrorInvalidSyncStateData"
    default_message = "Sync state data is corrupt or otherwise invalid."


class InvalidWatermark(EwsError):
    response_code = "ErrorInvalidWatermark"
    default_message = "Watermark is invalid."


class SubscriptionNotFound(EwsError):
    response_code = "ErrorSubscriptionNotFound"
    default_message = "The specified subscription was not found."


class ExpiredSubscription(EwsError):
    response_code = "ErrorExpiredSubscription"
    default_message = "The subscription has expired."


class ServerBusy(EwsError):
    """Throttling: the client must wait ``backoff_ms`` milliseconds before the next request."""

    response_code = "ErrorServerBusy"
    default_message = "The server cannot service this request right now. Try again later."

    def __init__(self, backoff_ms: int, message: str | None = None) -> None:
        super().__init__(message)
        self.backoff_ms = backoff_ms


class OccurrenceIndexOutOfRange(EwsError):
    response_code = "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange"
    default_message = "Occurrence index is out of recurrence range."


class OccurrenceDeleted(EwsError):
    response_code = "ErrorCalendarOccurrenceIsDeletedFromRecurrence"
    default_message = "Occurrence with this index was previously deleted from the recurrence."


class NotRecurringMaster(EwsError):
    """An occurrence was asked of an item that is not a recurring master."""

    response_code = "ErrorItemNotFound"
    default_message = "The specified object was not found in the store."


class OccurrenceCrossingBoundary(EwsError):
    """An occurrence was moved onto or past the day of a neighbouring occurrence (Outlook refuses that too)."""

    response_code = "ErrorOccurrenceCrossingBoundary"
    default_message = (
        "Cannot reschedule an occurrence of a recurring meeting if it skips over a later or earlier occurrence "
        "of the same meeting, or lands on the same day as one."
    )


class InvalidRecurrence(EwsError):
    response_code = "ErrorInvalidRecurrence"
    default_message = "The recurrence pattern is invalid."


class InvalidRequest(EwsError):
    """Bad arguments to a control command or a world method (maps to ErrorInvalidRequest)."""

    response_code = "ErrorInvalidRequest"
    default_message = "The request is invalid."


class HttpFault(WorldError):
    """Answer the request with this bare HTTP status (401, 500, 503) instead of a SOAP response."""

    def __init__(self, status: int) -> None:
        super().__init__(f"injected HTTP {status}")
        self.status = status


class StreamingConnectionDropped(WorldError):
    """Raised from :meth:`World.wait_for_events` when a fault asks to drop streaming connections."""


class CalendarEndDateIsEarlierThanStartDate(InvalidRequest):
    response_code = "ErrorCalendarEndDateIsEarlierThanStartDate"
    default_message = "EndDate is earlier than StartDate"


class CalendarDurationIsTooLong(InvalidRequest):
    """A series whose occurrences would overlap: the duration exceeds the time between two occurrences."""

    response_code = "ErrorCalendarDurationIsTooLong"
    default_message = "The duration of the calendar item is longer than its recurrence interval."
