"""exchangelib's exceptions as the provider errors the sync loop decides on, with messages an admin can act on."""

from __future__ import annotations

import pytest
import requests
from exchangelib import errors as ews

from tc_calendar.providers._ews_errors import DEFAULT_THROTTLE_BACKOFF_SECONDS, map_error
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

ENDPOINT = "https://exchange.corp.test/EWS/Exchange.asmx"


def mapped(exc: BaseException) -> ProviderError:
    return map_error(exc, mailbox="alice@corp.test", login="svc-sync", endpoint=ENDPOINT)


def test_server_busy_keeps_the_servers_back_off() -> None:
    error = mapped(ews.ErrorServerBusy("The server cannot service this request right now", back_off=2.5))

    assert isinstance(error, ThrottledError)
    assert error.backoff_seconds == 2.5
    assert "svc-sync" in str(error)


def test_server_busy_without_back_off_waits_a_default() -> None:
    error = mapped(ews.ErrorServerBusy("busy"))

    assert isinstance(error, ThrottledError) and error.backoff_seconds == DEFAULT_THROTTLE_BACKOFF_SECONDS


def test_exchangelibs_own_busy_for_http_503_is_a_transient_failure_not_throttling() -> None:
    # Under FailFast exchangelib re-raises a 503 as ErrorServerBusy "Reraised from ...", with its own wait.
    error = mapped(ews.ErrorServerBusy("Reraised from ErrorInternalServerTransientError(...)", back_off=10))

    assert isinstance(error, TransientError) and not isinstance(error, ThrottledError)


def test_rejected_credentials_name_the_service_account() -> None:
    error = mapped(ews.UnauthorizedError(f"Invalid credentials for {ENDPOINT}"))

    assert isinstance(error, AuthError)
    assert "'svc-sync'" in str(error) and "credentials" in str(error)


@pytest.mark.parametrize(
    ("exc", "reason", "hint"),
    [
        (ews.ErrorNonExistentMailbox("no mailbox"), MailboxErrorReason.NOT_FOUND, "no such mailbox"),
        (ews.ErrorImpersonateUserDenied("denied"), MailboxErrorReason.ACCESS_DENIED, "ApplicationImpersonation"),
        (ews.ErrorAccessDenied("denied"), MailboxErrorReason.ACCESS_DENIED, "impersonate"),
        (ews.ErrorMailboxMoveInProgress("moving"), MailboxErrorReason.UNAVAILABLE, "unavailable"),
        (ews.ErrorMailboxStoreUnavailable("down"), MailboxErrorReason.UNAVAILABLE, "unavailable"),
    ],
)
def test_mailbox_failures_say_which_mailbox_and_why(exc: Exception, reason: MailboxErrorReason, hint: str) -> None:
    error = mapped(exc)

    assert isinstance(error, MailboxError)
    assert error.reason is reason and error.mailbox == "alice@corp.test"
    assert hint in str(error) and str(error).startswith("alice@corp.test: ")


def test_an_invalid_sync_state_asks_for_a_resync() -> None:
    assert isinstance(mapped(ews.ErrorInvalidSyncStateData("bad state")), InvalidSyncStateError)


@pytest.mark.parametrize("exc", [ews.ErrorSubscriptionNotFound("gone"), ews.ErrorExpiredSubscription("expired")])
def test_lost_subscriptions_ask_for_a_new_one(exc: Exception) -> None:
    assert isinstance(mapped(exc), SubscriptionExpiredError)


@pytest.mark.parametrize(
    "exc",
    [
        ews.ErrorInternalServerError("oops"),
        ews.ErrorTimeoutExpired("slow"),
        ews.MalformedResponseError("Unknown failure in response. Code: 500"),
        ews.TransportError("connection refused"),
        requests.exceptions.ConnectionError("reset"),
    ],
)
def test_server_and_network_failures_are_transient(exc: Exception) -> None:
    error = mapped(exc)

    assert isinstance(error, TransientError) and not isinstance(error, ThrottledError)


def test_anything_else_is_a_provider_error_with_its_type() -> None:
    error = mapped(ValueError("strange"))

    assert type(error) is ProviderError and "ValueError" in str(error)
