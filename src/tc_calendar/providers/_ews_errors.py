"""Turn exchangelib's exceptions into the provider error hierarchy, with messages an administrator can act on.

The adapter runs exchangelib with the ``FailFast`` retry policy so that no pool thread sleeps for minutes inside
exchangelib; throttling and transient failures come back here immediately and the sync loop does its own
back-off. Two quirks of exchangelib shape this mapping:

* Under ``FailFast`` exchangelib reports HTTP 503, "Server Error in '/EWS' Application" and some connection
  failures as ``ErrorServerBusy`` too, with a message starting ``Reraised from`` (or ``Caused by``) and
  ``back_off`` set to its own default wait. Only a real ``ErrorServerBusy`` response carries the server's
  ``BackOffMilliseconds``; the others are transient failures that get exponential back-off with jitter.
* ``ResponseMessageError`` (every EWS response code) is a subclass of ``TransportError``, so the specific codes
  are matched before the generic transport errors.
"""

from __future__ import annotations

import requests.exceptions
from exchangelib import errors as ews

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

DEFAULT_THROTTLE_BACKOFF_SECONDS = 30.0
"""Used when Exchange says ErrorServerBusy without BackOffMilliseconds (Exchange 2013+ always sends it)."""

_NOT_FOUND = (ews.ErrorNonExistentMailbox, ews.ErrorInvalidSmtpAddress, ews.ErrorNonPrimarySmtpAddress)
_DENIED = (ews.ErrorImpersonateUserDenied, ews.ErrorAccessDenied, ews.ErrorImpersonationFailed)
_UNAVAILABLE = (
    ews.ErrorMailboxMoveInProgress,
    ews.ErrorMailboxStoreUnavailable,
    ews.ErrorMailboxConfiguration,
    ews.ErrorFolderNotFound,
)
_SUBSCRIPTION = (
    ews.ErrorSubscriptionNotFound,
    ews.ErrorExpiredSubscription,
    ews.ErrorInvalidSubscription,
    ews.ErrorInvalidPullSubscriptionId,
    ews.ErrorInvalidWatermark,
    ews.ErrorMissedNotificationEvents,
    ews.ErrorReadEventsFailed,
)
_TRANSIENT = (
    ews.ErrorInternalServerError,
    ews.ErrorInternalServerTransientError,
    ews.ErrorTimeoutExpired,
    ews.ErrorConnectionFailed,
    ews.ErrorTooManyObjectsOpened,
    ews.ErrorExceededConnectionCount,
    ews.MalformedResponseError,
    ews.CASError,
)


def _is_reraised_transient(exc: ews.ErrorServerBusy) -> bool:
    """exchangelib's own ``ErrorServerBusy`` for 503/connection trouble, not Exchange's throttling response."""
    text = str(exc)
    return text.startswith("Reraised from") or text.startswith("Caused by")


def map_error(exc: BaseException, *, mailbox: str | None, login: str, endpoint: str) -> ProviderError:
    """The provider error for an exception raised while serving ``mailbox`` with service account ``login``."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, ews.UnauthorizedError):
        return AuthError(
            f"Exchange at {endpoint} rejected the credentials of service account {login!r} ({exc}); "
            "check its login and password in calendarProviders[].credentials"
        )
    if isinstance(exc, ews.ErrorServerBusy):
        if _is_reraised_transient(exc):
            return TransientError(f"Exchange at {endpoint} is unavailable: {exc}", mailbox=mailbox)
        backoff = float(exc.back_off) if exc.back_off else DEFAULT_THROTTLE_BACKOFF_SECONDS
        return ThrottledError(
            f"Exchange throttles service account {login!r} (ErrorServerBusy); backing off {backoff:.1f}s",
            backoff_seconds=backoff,
            mailbox=mailbox,
        )
    if isinstance(exc, _NOT_FOUND):
        return MailboxError(
            f"no such mailbox on Exchange ({type(exc).__name__}); check the address in users",
            reason=MailboxErrorReason.NOT_FOUND,
            mailbox=mailbox,
        )
    if isinstance(exc, _DENIED):
        return MailboxError(
            f"service account {login!r} may not impersonate this mailbox ({type(exc).__name__}); grant it the "
            "ApplicationImpersonation role for this mailbox",
            reason=MailboxErrorReason.ACCESS_DENIED,
            mailbox=mailbox,
        )
    if isinstance(exc, _UNAVAILABLE):
        return MailboxError(
            f"mailbox is unavailable ({type(exc).__name__}: {exc})",
            reason=MailboxErrorReason.UNAVAILABLE,
            mailbox=mailbox,
        )
    if isinstance(exc, ews.ErrorInvalidSyncStateData):
        return InvalidSyncStateError(
            "Exchange no longer accepts the saved SyncState (ErrorInvalidSyncStateData); resynchronizing the window",
            mailbox=mailbox,
        )
    if isinstance(exc, _SUBSCRIPTION):
        return SubscriptionExpiredError(f"notification subscription lost ({type(exc).__name__})", mailbox=mailbox)
    if isinstance(exc, _TRANSIENT):
        return TransientError(f"Exchange at {endpoint} failed: {type(exc).__name__}: {exc}", mailbox=mailbox)
    if isinstance(exc, ews.RateLimitError):
        return ThrottledError(
            f"Exchange rate-limits service account {login!r}",
            backoff_seconds=float(getattr(exc, "wait", DEFAULT_THROTTLE_BACKOFF_SECONDS) or 1.0),
            mailbox=mailbox,
        )
    if isinstance(exc, ews.TransportError | requests.exceptions.RequestException | ConnectionError | TimeoutError):
        return TransientError(f"cannot reach Exchange at {endpoint}: {type(exc).__name__}: {exc}", mailbox=mailbox)
    if isinstance(exc, ews.ResponseMessageError | ews.EWSError):
        return ProviderError(f"Exchange answered {type(exc).__name__}: {exc}", mailbox=mailbox)
    return ProviderError(f"unexpected failure talking to Exchange: {type(exc).__name__}: {exc}", mailbox=mailbox)
