"""apply() against the merge it persists (sync/merge.py), over random batches (SQLite, for speed).

The merge policy is tested without a database in tests/sync/test_merge.py. Here the same batches go through the
store and through the pure merge in memory: after every batch each user's view in the store, each mailbox's
event count and the change-log entries must be what the merge says.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_builders import MONDAY_9, meeting

from tc_calendar.model import OccurrenceKey, Response
from tc_calendar.store import ConfiguredMailbox, Store, upgrade_async
from tc_calendar.sync.actions import DropItem, DropOccurrence, PutOccurrence
from tc_calendar.sync.merge import Incoming, Meeting, merge

MAILBOXES = ["a@example.com", "b@example.com", "c@example.com"]
UIDS = ["x", "y"]
TITLES = ["Planning", "Review"]
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))

View = dict[OccurrenceKey, tuple[str, Response]]


def _title(content_hash: str) -> str:
    return content_hash.split("@")[0]  # the hashes below are "<title>@<day>"


def _view(meetings: dict[OccurrenceKey, Meeting], user: str) -> View:
    return {key: (_title(view[0]), view[1]) for key, meeting in meetings.items() if (view := meeting.view(user))}


def _put(mailbox: str, uid: str, title: str, organizer: bool, response: Response, day: int) -> PutOccurrence:
    occurrence = meeting(uid, title=title, start=MONDAY_9 + timedelta(days=day), organizer="org@example.com")
    return PutOccurrence(mailbox, f"{mailbox}/{uid}", occurrence, response, organizer, f"{title}@{day}")


puts = st.builds(
    _put,
    st.sampled_from(MAILBOXES),
    st.sampled_from(UIDS),
    st.sampled_from(TITLES),
    st.booleans(),
    st.sampled_from([Response.ACCEPTED, Response.DECLINED]),
    st.sampled_from([0, 1]),
)
drops = st.builds(DropOccurrence, st.sampled_from(MAILBOXES), st.sampled_from([OccurrenceKey(uid) for uid in UIDS]))
item_drops = st.builds(lambda m, u: DropItem(m, f"{m}/{u}"), st.sampled_from(MAILBOXES), st.sampled_from(UIDS))
actions = st.one_of(puts, puts, puts, drops, item_drops)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each example copies (migrating per example would dominate the run time)."""
    path = tmp_path_factory.mktemp("model") / "template.db"
    with ThreadPoolExecutor(max_workers=1) as pool:  # a loop of its own, away from pytest-asyncio's
        pool.submit(asyncio.run, _prepare(f"sqlite:///{path}")).result()
    return path


async def _prepare(url: str) -> None:
    await upgrade_async(url)
    async with Store.open(url) as store:
        await store.register_config_mailboxes([ConfiguredMailbox(email) for email in MAILBOXES])


async def _views(store: Store) -> dict[str, View]:
    return {user: {o.key: (o.title, r) for o, r in await store.load_view(user, *EVER)} for user in MAILBOXES}


async def _check(batches: list[list[Incoming]], url: str) -> None:
    meetings: dict[OccurrenceKey, Meeting] = {}
    async with Store.open(url) as store:
        for batch in batches:
            changes = await store.apply(batch)
            meetings, entries = merge(meetings, batch)
            after = await _views(store)
            assert after == {user: _view(meetings, user) for user in MAILBOXES}
            assert {m.email: m.event_count for m in await store.list_mailboxes()} == {
                user: len(view) for user, view in after.items()
            }
            assert [(c.kind, c.user, c.key, c.payload) for c in changes] == [
                (e.kind, e.user, e.key, e.payload) for e in entries
            ]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(actions, min_size=1, max_size=6), min_size=1, max_size=4))
def test_random_batches_leave_the_store_and_its_log_as_the_merge_says(
    migrated_sqlite: Path, batches: list[list[Incoming]]
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        copy = Path(directory) / "model.db"
        shutil.copyfile(migrated_sqlite, copy)
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, _check(batches, f"sqlite:///{copy}")).result()
