"""apply() against a model of the rules in sync/actions.py, over random batches (SQLite, for speed).

The model keeps, per occurrence, the winning copy, each mailbox's answer and each losing copy's own version.
After every batch each user's view in the store must equal the model's, and every view that changed must have a
change-log entry.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_builders import MONDAY_9, meeting

from tc_calendar.model import OccurrenceKey, Response
from tc_calendar.store import ConfiguredMailbox, Store, upgrade_async
from tc_calendar.sync.actions import Action, DropItem, DropOccurrence, PutOccurrence

MAILBOXES = ["a@example.com", "b@example.com", "c@example.com"]
UIDS = ["x", "y"]
TITLES = ["Planning", "Review"]
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))

View = dict[OccurrenceKey, tuple[str, Response]]


@dataclass(frozen=True)
class ModelCopy:
    item_id: str
    response: Response
    from_organizer: bool
    kept_title: str | None  # the copy's own title while it lost to the shared content


@dataclass
class Model:
    content: dict[OccurrenceKey, tuple[str, bool, str]] = field(default_factory=dict)  # title, organizer, source
    copies: dict[OccurrenceKey, dict[str, ModelCopy]] = field(default_factory=dict)

    def apply(self, action: Action) -> None:
        if isinstance(action, PutOccurrence):
            self._put(action)
        elif isinstance(action, DropOccurrence):
            self._drop(action.mailbox, action.key)
        elif isinstance(action, DropItem):
            for key, copies in list(self.copies.items()):
                if action.mailbox in copies and copies[action.mailbox].item_id == action.item_id:
                    self._drop(action.mailbox, key)

    def _put(self, action: PutOccurrence) -> None:
        key, title = action.occurrence.key, action.occurrence.title
        stored = self.content.get(key)
        if stored is None or action.from_organizer_copy or not stored[1]:
            self.content[key] = (title, action.from_organizer_copy, action.mailbox)
        kept = title if title != self.content[key][0] else None
        copy = ModelCopy(action.item_id, action.my_response, action.from_organizer_copy, kept)
        self.copies.setdefault(key, {})[action.mailbox] = copy

    def _drop(self, mailbox: str, key: OccurrenceKey) -> None:
        copies = self.copies.get(key, {})
        if copies.pop(mailbox, None) is None:
            return
        title, organizer, source = self.content[key]
        if not copies:
            del self.content[key], self.copies[key]
        elif source == mailbox and organizer:
            self.content[key] = (title, False, source)
            for user, copy in sorted(copies.items()):
                if copy.kept_title is not None and copy.kept_title != title:
                    self.content[key] = (copy.kept_title, copy.from_organizer, user)
                    copies[user] = replace(copy, kept_title=None)
                    break

    def view(self, user: str) -> View:
        return {
            key: (self.content[key][0], copies[user].response) for key, copies in self.copies.items() if user in copies
        }


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
    st.just(0),
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


async def _check(batches: list[list[Action]], url: str) -> None:
    model = Model()
    async with Store.open(url) as store:
        for batch in batches:
            before = await _views(store)
            changes = await store.apply(batch)
            for action in batch:
                model.apply(action)
            after = await _views(store)
            assert after == {user: model.view(user) for user in MAILBOXES}
            assert {m.email: m.event_count for m in await store.list_mailboxes()} == {
                user: len(view) for user, view in after.items()
            }
            logged = {(c.user, c.key) for c in changes}
            for user in MAILBOXES:
                for key in before[user].keys() | after[user].keys():
                    if before[user].get(key) != after[user].get(key):
                        assert (user, key) in logged


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(actions, min_size=1, max_size=6), min_size=1, max_size=4))
def test_random_batches_leave_the_store_as_the_rules_say_and_log_every_visible_change(
    migrated_sqlite: Path, batches: list[list[Action]]
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        copy = Path(directory) / "model.db"
        shutil.copyfile(migrated_sqlite, copy)
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, _check(batches, f"sqlite:///{copy}")).result()
