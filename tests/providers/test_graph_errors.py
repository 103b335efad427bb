"""Graph's error answers as the errors the sync loop acts on, with messages an administrator can act on."""

from __future__ import annotations

import json

import pytest

from tc_calendar.providers._graph_errors import GraphErrorBody, map_error
from tc_calendar.providers.base import (
    AuthError,
    InvalidSyncStateError,
    MailboxError,
    MailboxErrorReason,
    ThrottledError,
    TransientError,
)

BOB = "bob@corp.test"
GRAPH = "https://graph.microsoft.com/v1.0"


def answer(status: int, code: str, message: str = "", **headers: str) -> GraphErrorBody:
    return GraphErrorBody.parse(status, json.dumps({"error": {"code": code, "message": message}}), headers)


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_waits_what_retry_after_says(status: int) -> None:
    error = map_error(answer(status, "TooManyRequests", **{"Retry-After": "7"}), mailbox=BOB, graph=GRAPH)
    assert isinstance(error, ThrottledError) and error.backoff_seconds == 7 and error.mailbox == BOB


@pytest.mark.parametrize("code", ["syncStateNotFound", "resyncRequired"])
def test_a_delta_link_graph_no_longer_accepts_means_a_new_round(code: str) -> None:
    assert isinstance(map_error(answer(410, code), mailbox=BOB, graph=GRAPH), InvalidSyncStateError)


def test_a_mailbox_outside_the_access_policy_is_a_mailbox_error_that_says_what_to_do() -> None:
    error = map_error(answer(403, "ErrorAccessDenied", "Access to OData is disabled."), mailbox=BOB, graph=GRAPH)
    assert isinstance(error, MailboxError) and error.reason is MailboxErrorReason.ACCESS_DENIED
    assert "Application Access Policy" in str(error) and BOB in str(error)


def test_an_unknown_mailbox_is_not_found() -> None:
    error = map_error(answer(404, "ErrorInvalidUser", "The requested user is invalid."), mailbox=BOB, graph=GRAPH)
    assert isinstance(error, MailboxError) and error.reason is MailboxErrorReason.NOT_FOUND


def test_a_refused_token_is_an_auth_error_and_server_failures_are_transient() -> None:
    assert isinstance(map_error(answer(401, "InvalidAuthenticationToken"), mailbox=BOB, graph=GRAPH), AuthError)
    assert isinstance(map_error(answer(500, "generalException"), mailbox=BOB, graph=GRAPH), TransientError)
