"""From attendee e-mails to TrueConf user IDs: userMap first, then the directory paged from the server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from trueconf_support import ClientFactory

from tc_calendar.trueconf.errors import TrueConfUnavailableError
from tc_calendar.trueconf.models import TrueConfUser
from tc_calendar.trueconf.users import InMemoryUserCache, StoreUserCache, UserResolver, build_directory
from tcs_sim.runner import SimServer

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


class Directory:
    """TrueConf's user list as plain data, counting how often it is read."""

    def __init__(self, *users: TrueConfUser) -> None:
        self.users = list(users)
        self.listings = 0
        self.down = False

    async def iter_users(self) -> AsyncIterator[TrueConfUser]:
        self.listings += 1
        if self.down:
            raise TrueConfUnavailableError("down")
        for user in self.users:
            yield user


class Now:
    def __init__(self) -> None:
        self.value = T0

    def __call__(self) -> datetime:
        return self.value


def user(uid: str, email: str, *, active: bool = True) -> TrueConfUser:
    return TrueConfUser(id=uid, uid=f"{uid}@tcs.example.test", email=email, display_name=uid, is_active=active)


def test_directory_is_keyed_by_lower_case_e_mail() -> None:
    entries, ambiguous = build_directory([user("carol", "Carol@Example.test")], T0)
    assert [(e.email, e.user_id, e.refreshed_at) for e in entries] == [("carol@example.test", "carol", T0)]
    assert ambiguous == []


def test_directory_leaves_out_disabled_accounts_and_accounts_without_e_mail() -> None:
    entries, _ = build_directory([user("old", "old@example.test", active=False), user("bot", "")], T0)
    assert entries == []


def test_an_e_mail_shared_by_two_accounts_is_not_mapped_but_reported() -> None:
    entries, ambiguous = build_directory([user("bob", "bob@example.test"), user("bob2", "BOB@example.test")], T0)
    assert entries == [] and ambiguous == ["bob@example.test"]


async def test_user_map_wins_over_the_directory_and_needs_no_listing() -> None:
    directory = Directory(user("bob", "bob@example.test"))
    resolver = UserResolver(directory, InMemoryUserCache(), explicit={"Bob@Example.test": "robert"}, now=Now())
    assert await resolver.resolve(["bob@example.test"]) == {"bob@example.test": "robert"}
    assert directory.listings == 0


async def test_first_lookup_lists_the_directory_then_the_cache_answers() -> None:
    directory = Directory(user("alice", "alice@example.test"), user("bob", "bob@example.test"))
    resolver = UserResolver(directory, InMemoryUserCache(), now=Now())
    assert await resolver.resolve(["ALICE@example.test", "guest@partner.test"]) == {"alice@example.test": "alice"}
    assert await resolver.resolve(["bob@example.test"]) == {"bob@example.test": "bob"}
    assert directory.listings == 1


async def test_unknown_addresses_refresh_at_most_once_per_interval() -> None:
    now = Now()
    directory = Directory(user("alice", "alice@example.test"))
    resolver = UserResolver(directory, InMemoryUserCache(), now=now, min_refresh_interval=timedelta(minutes=5))
    await resolver.resolve(["guest@partner.test"])
    await resolver.resolve(["guest@partner.test"])
    assert directory.listings == 1
    directory.users.append(user("newbie", "guest@partner.test"))  # a new hire gets an account
    now.value += timedelta(minutes=5)
    assert await resolver.resolve(["guest@partner.test"]) == {"guest@partner.test": "newbie"}
    assert directory.listings == 2


async def test_old_entries_are_refreshed_and_deleted_accounts_disappear() -> None:
    now = Now()
    directory = Directory(user("alice", "alice@example.test"), user("bob", "bob@example.test"))
    resolver = UserResolver(directory, InMemoryUserCache(), now=now, max_age=timedelta(hours=24))
    await resolver.resolve(["bob@example.test"])
    directory.users = [user("alice", "alice@example.test")]
    now.value += timedelta(hours=25)
    assert await resolver.resolve(["alice@example.test", "bob@example.test"]) == {"alice@example.test": "alice"}
    assert directory.listings == 2


async def test_cached_entries_are_used_when_the_server_is_unreachable() -> None:
    now = Now()
    directory = Directory(user("bob", "bob@example.test"))
    resolver = UserResolver(directory, InMemoryUserCache(), now=now)
    await resolver.resolve(["bob@example.test"])
    directory.down = True
    now.value += timedelta(days=2)
    assert await resolver.resolve(["bob@example.test"]) == {"bob@example.test": "bob"}


async def test_a_failed_listing_is_retried_after_seconds_not_minutes() -> None:
    now = Now()
    directory = Directory(user("bob", "bob@example.test"))
    directory.down = True
    resolver = UserResolver(directory, InMemoryUserCache(), now=now)
    assert await resolver.resolve(["bob@example.test"]) == {}

    directory.down = False
    now.value += timedelta(seconds=5)
    assert await resolver.resolve(["bob@example.test"]) == {}  # not hammering a server that just failed
    now.value += timedelta(seconds=15)
    assert await resolver.resolve(["bob@example.test"]) == {"bob@example.test": "bob"}
    assert directory.listings == 2


async def test_first_listing_failing_is_not_hidden() -> None:
    directory = Directory()
    directory.down = True
    resolver = UserResolver(directory, InMemoryUserCache(), now=Now())
    assert await resolver.resolve(["bob@example.test"]) == {}


@pytest.mark.parametrize("version", ["v3.11", "v4"])
async def test_directory_from_the_server_pages(sim: SimServer, make_client: ClientFactory, version: str) -> None:
    client = make_client(version)
    resolver = UserResolver(client, InMemoryUserCache(), now=Now())
    emails = ["alice@example.test", "carol@example.test", "nobody@example.test"]
    assert await resolver.resolve(emails) == {"alice@example.test": "alice", "carol@example.test": "carol"}


async def test_the_store_can_hold_the_directory(tmp_path: Path) -> None:
    from tc_calendar.store import Store
    from tc_calendar.store import TrueConfUser as CachedUser
    from tc_calendar.store.migrate import upgrade_async

    url = f"sqlite+aiosqlite:///{tmp_path / 'cache.db'}"
    await upgrade_async(url)
    async with Store.open(url) as store:
        directory = Directory(user("carol", "Carol@Example.test"))
        resolver = UserResolver(directory, StoreUserCache(store, CachedUser), now=Now())
        assert await resolver.resolve(["carol@example.test"]) == {"carol@example.test": "carol"}
        restarted = UserResolver(Directory(), StoreUserCache(store, CachedUser), now=Now())
        assert await restarted.resolve(["carol@example.test"]) == {"carol@example.test": "carol"}
