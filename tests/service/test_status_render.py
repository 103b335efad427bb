"""What ``tc_calendar status`` tells an administrator, from the store's records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tc_calendar.model import OccurrenceKey
from tc_calendar.status import render
from tc_calendar.store.records import LaunchRecord, LaunchState, MailboxOrigin, MailboxState, MailboxStatus

NOW = datetime(2026, 6, 29, 12, 0, tzinfo=UTC)


def mailbox(email: str, state: MailboxState, *, error: str | None = None, events: int = 0) -> MailboxStatus:
    return MailboxStatus(
        email=email,
        provider_index=0,
        origin=MailboxOrigin.CONFIG,
        config_order=0,
        requested_at=None,
        state=state,
        last_success_at=NOW - timedelta(minutes=5) if state is MailboxState.OK else None,
        last_error=error,
        last_error_at=NOW - timedelta(minutes=1) if error else None,
        event_count=events,
        first_seen_at=NOW - timedelta(days=1),
        lease_owner=None,
        lease_expires_at=None,
    )


def test_status_lists_mailboxes_with_state_events_last_sync_and_last_error() -> None:
    report = render(
        [
            mailbox("alice@corp.test", MailboxState.OK, events=12),
            mailbox("ghost@corp.test", MailboxState.ERROR, error="mailbox does not exist in Exchange"),
            mailbox("late@corp.test", MailboxState.OVER_LIMIT),
        ],
        [],
        cursor=42,
        now=NOW,
    )
    assert "Mailboxes: 3 (1 error, 1 ok, 1 over_limit); change log at cursor 42" in report
    assert "alice@corp.test  ok" in report and "12  5m ago" in report
    assert "last error (1m ago): mailbox does not exist in Exchange" in report
    assert "1 mailbox(es) over the account limit are not synchronized: late@corp.test" in report
    assert "No conference launches recorded." in report


def test_status_shows_launches_with_outcome_lateness_and_error() -> None:
    launch = LaunchRecord(
        key=OccurrenceKey("uid-1"),
        conference_id="marketing_weekly",
        scheduled_at=NOW - timedelta(minutes=3),
        claimed_by="node-a",
        claimed_at=NOW,
        state=LaunchState.FAILED,
        attempts=3,
        late=True,
        last_error="TrueConf Server answered 503",
        finished_at=NOW,
    )
    report = render([], [launch], cursor=0, now=NOW)
    assert "marketing_weekly" in report
    assert "failed" in report and "started late; 3 attempts; TrueConf Server answered 503" in report


def test_status_gives_the_verdict_health_gives() -> None:
    failing = render([mailbox("a@corp.test", MailboxState.ERROR, error="rejected")], [], cursor=1, now=NOW)
    assert "Synchronization is failing: every synchronized mailbox is in error (/health answers 503)." in failing
    degraded = render(
        [mailbox("a@corp.test", MailboxState.ERROR, error="x"), mailbox("b@corp.test", MailboxState.OK)],
        [],
        cursor=1,
        now=NOW,
    )
    assert 'Synchronization is degraded: 1 mailbox(es) in error (/health: "degraded").' in degraded
    healthy = render([mailbox("b@corp.test", MailboxState.OK)], [], cursor=1, now=NOW)
    assert "Synchronization is" not in healthy
