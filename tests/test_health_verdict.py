"""When /health and ``tc_calendar status`` call synchronization ok, degraded or failing."""

from __future__ import annotations

from tc_calendar.health import sync_verdict


def test_every_synchronized_mailbox_in_error_is_failing() -> None:
    assert sync_verdict({"error": 3}) == "failing"
    assert sync_verdict({"error": 3, "over_limit": 2, "disabled": 1}) == "failing"


def test_some_mailboxes_in_error_is_degraded() -> None:
    assert sync_verdict({"error": 1, "ok": 5}) == "degraded"
    assert sync_verdict({"error": 1, "pending": 5}) == "degraded"


def test_no_mailbox_in_error_is_ok() -> None:
    assert sync_verdict({}) == "ok"
    assert sync_verdict({"pending": 2, "syncing": 1, "ok": 4}) == "ok"
    assert sync_verdict({"over_limit": 2}) == "ok"
