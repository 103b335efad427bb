"""``tc_calendar status``: what the connector is doing, read from its database (the service need not run).

Rendering is pure (records in, text out) so its wording is tested without a database.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

from tc_calendar.addresses import MailboxAddress
from tc_calendar.config import Settings
from tc_calendar.database_access import require_initialized
from tc_calendar.health import sync_verdict
from tc_calendar.store import Store
from tc_calendar.store.records import LaunchRecord, MailboxState, MailboxStatus

RECENT_LAUNCHES = 20


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = int((now - moment).total_seconds())
    if seconds < 0:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def not_registered(mailboxes: Sequence[MailboxStatus], configured: Sequence[str]) -> list[str]:
    """The ``configured`` users the store does not know yet: the service has not run since they were listed."""
    known = {MailboxAddress(m.email) for m in mailboxes}
    return [email for email in dict.fromkeys(MailboxAddress(e) for e in configured) if email not in known]


def render_mailboxes(mailboxes: Sequence[MailboxStatus], now: datetime, configured: Sequence[str] = ()) -> list[str]:
    """The mailbox table; ``configured`` users the store does not know yet are shown as pending, so the table
    matches config.json."""
    waiting = not_registered(mailboxes, configured)
    if not mailboxes and not waiting:
        return ["No mailboxes yet: list users in calendarProviders[].users, or ask for one through the API."]
    width = max(len(email) for email in [*(m.email for m in mailboxes), *waiting])
    lines = [f"{'MAILBOX':<{width}}  {'STATE':<10}  {'ORIGIN':<9}  {'EVENTS':>6}  LAST SYNC"]
    for m in mailboxes:
        origin = "users" if str(m.origin) == "config" else str(m.origin).replace("_", "-")
        lines.append(
            f"{m.email:<{width}}  {m.state!s:<10}  {origin:<9}  {m.event_count:>6}  {_when(m.last_success_at, now)}"
        )
        if m.last_error and m.state in (MailboxState.ERROR, MailboxState.SYNCING, MailboxState.PENDING):
            lines.append(f"{'':<{width}}  last error ({_when(m.last_error_at, now)}): {m.last_error}")
    for email in waiting:
        lines.append(f"{email:<{width}}  {MailboxState.PENDING!s:<10}  {'users':<9}  {0:>6}  {_when(None, now)}")
    if waiting:
        lines.append(f"{len(waiting)} pending user(s) of calendarProviders[].users are synchronized once the service "
                     "runs")
    over = [m.email for m in mailboxes if m.state is MailboxState.OVER_LIMIT]
    if over:
        lines.append(f"{len(over)} mailbox(es) over the account limit are not synchronized: {', '.join(over)}")
    return lines


def render_launches(launches: Sequence[LaunchRecord], now: datetime) -> list[str]:
    if not launches:
        return ["No conference launches recorded."]
    lines = ["CONFERENCE            STARTS                OUTCOME   DETAILS"]
    for launch in sorted(launches, key=lambda item: item.scheduled_at, reverse=True)[:RECENT_LAUNCHES]:
        details = []
        if launch.late:
            details.append("started late")
        if launch.attempts > 1:
            details.append(f"{launch.attempts} attempts")
        if launch.last_error:
            details.append(launch.last_error)
        starts = launch.scheduled_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"{launch.conference_id:<20}  {starts:<20}  {launch.state!s:<8}  {'; '.join(details)}")
    return lines


def _verdict_lines(counts: dict[str, int]) -> list[str]:
    """The verdict /health gives for the same counts (:mod:`tc_calendar.health`)."""
    verdict = sync_verdict(counts)
    if verdict == "failing":
        return ["Synchronization is failing: every synchronized mailbox is in error (/health answers 503)."]
    if verdict == "degraded":
        return [f"Synchronization is degraded: {counts['error']} mailbox(es) in error (/health: \"degraded\")."]
    return []


def render(
    mailboxes: Sequence[MailboxStatus],
    launches: Sequence[LaunchRecord],
    cursor: int,
    now: datetime,
    configured: Sequence[str] = (),
) -> str:
    counts: dict[str, int] = {}
    for m in mailboxes:
        counts[str(m.state)] = counts.get(str(m.state), 0) + 1
    waiting = not_registered(mailboxes, configured)
    if waiting:
        counts[str(MailboxState.PENDING)] = counts.get(str(MailboxState.PENDING), 0) + len(waiting)
    summary = ", ".join(f"{count} {state}" for state, count in sorted(counts.items())) or "none"
    parts = [
        f"Mailboxes: {len(mailboxes) + len(waiting)} ({summary}); change log at cursor {cursor}",
        *_verdict_lines(counts),
        "",
        *render_mailboxes(mailboxes, now, configured),
        "",
        *render_launches(launches, now),
    ]
    return "\n".join(parts)


async def collect(settings: Settings) -> tuple[list[MailboxStatus], list[LaunchRecord], int]:
    """What the store records; :class:`DatabaseNotInitializedError` when the database was never set up (nothing
    is created then, not even an empty SQLite file)."""
    await require_initialized(settings)
    async with Store.open(settings.database_url) as store:
        return await store.list_mailboxes(), await store.list_launches(limit=500), await store.latest_cursor()


def configured_users(settings: Settings) -> list[str]:
    return [user for provider in settings.calendar_providers for user in provider.users]


def licence_line(settings: Settings) -> str:
    """The licence status (docs/operations.md, "Registration")."""
    from tc_calendar.licensing.guard import licence_status_line
    from tc_calendar.licensing.registration import Installation

    installation = Installation.from_settings(settings.config_dir, settings.registration)
    return licence_status_line(installation, datetime.now(UTC), configured_limit=settings.account_limit)


def show(settings: Settings, out: TextIO | None = None) -> int:
    """Print the status; exit 0 when every admitted mailbox is healthy, 1 when some mailbox is in error."""
    mailboxes, launches, cursor = asyncio.run(collect(settings))
    now = datetime.now(UTC)
    print(render(mailboxes, launches, cursor, now, configured_users(settings)), file=out or sys.stdout)
    print("\n" + licence_line(settings), file=out or sys.stdout)
    return 1 if any(m.state is MailboxState.ERROR for m in mailboxes) else 0
