"""Group commit: callers that wait for the writer's turn are written together, and each gets its own outcome.

These tests drive :class:`GroupCommit` with a writer that records the groups it is given and can be held, failed
or cancelled at will; the database side is in test_store_group_apply.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import pytest

from tc_calendar.store.group_commit import GroupCommit
from waiting import eventually


class Writer:
    """Records each group; holds it until released when ``hold`` is set; an item "bad" fails alone."""

    def __init__(self) -> None:
        self.groups: list[list[str]] = []
        self.hold = asyncio.Event()
        self.hold.set()
        self.writing = asyncio.Event()

    async def __call__(self, items: list[str]) -> Sequence[str | BaseException]:
        self.groups.append(list(items))
        self.writing.set()
        await self.hold.wait()
        return [ValueError(f"{item} is bad") if item.startswith("bad") else f"wrote {item}" for item in items]


async def until(condition: Callable[[], bool]) -> None:
    """Let the other tasks run until ``condition`` holds (asked at each turn of the event loop)."""
    await eventually(condition, 10, "the tasks' state", every=0)


async def test_a_caller_alone_is_written_at_once_in_a_group_of_its_own() -> None:
    writer = Writer()
    commits: GroupCommit[str, str] = GroupCommit(writer)

    assert await commits.submit("a") == "wrote a"
    assert writer.groups == [["a"]]


async def test_callers_that_arrive_while_a_group_is_written_form_the_next_group_in_order() -> None:
    writer = Writer()
    writer.hold.clear()
    commits: GroupCommit[str, str] = GroupCommit(writer)
    first = asyncio.create_task(commits.submit("a"))
    await writer.writing.wait()
    later = [asyncio.create_task(commits.submit(name)) for name in ("b", "c", "d")]
    await until(lambda: len(commits._waiting) == 3)

    writer.hold.set()

    assert await asyncio.gather(first, *later) == ["wrote a", "wrote b", "wrote c", "wrote d"]
    assert writer.groups == [["a"], ["b", "c", "d"]]


async def test_an_error_reaches_only_the_caller_whose_item_caused_it() -> None:
    writer = Writer()
    writer.hold.clear()
    commits: GroupCommit[str, str] = GroupCommit(writer)
    first = asyncio.create_task(commits.submit("a"))
    await writer.writing.wait()
    bad = asyncio.create_task(commits.submit("bad b"))
    good = asyncio.create_task(commits.submit("c"))
    await until(lambda: len(commits._waiting) == 2)
    writer.hold.set()

    assert await first == "wrote a"
    with pytest.raises(ValueError, match="bad b is bad"):
        await bad
    assert await good == "wrote c"


async def test_a_writer_that_fails_as_a_whole_fails_every_caller_of_that_group_and_the_next_group_still_runs() -> None:
    calls: list[list[str]] = []

    async def broken_once(items: list[str]) -> list[str]:
        calls.append(items)
        if len(calls) == 1:
            raise ConnectionError("database went away")
        return [f"wrote {item}" for item in items]

    commits: GroupCommit[str, str] = GroupCommit(broken_once)
    with pytest.raises(ConnectionError):
        await commits.submit("a")
    assert await commits.submit("b") == "wrote b"


async def test_groups_keep_within_their_bounds_and_an_oversized_item_goes_alone() -> None:
    writer = Writer()
    writer.hold.clear()
    commits: GroupCommit[str, str] = GroupCommit(writer, size_of=len, max_items=3, max_size=6)
    first = asyncio.create_task(commits.submit("a"))
    await writer.writing.wait()
    names = ["b", "c", "d", "e", "ffffffffff", "g"]
    later = [asyncio.create_task(commits.submit(name)) for name in names]
    await until(lambda: len(commits._waiting) == len(names))
    writer.hold.set()

    await asyncio.gather(first, *later)
    assert writer.groups == [["a"], ["b", "c", "d"], ["e"], ["ffffffffff"], ["g"]]


async def test_a_waiting_caller_that_gives_up_is_not_written_and_the_others_are() -> None:
    writer = Writer()
    writer.hold.clear()
    commits: GroupCommit[str, str] = GroupCommit(writer)
    first = asyncio.create_task(commits.submit("a"))
    await writer.writing.wait()
    quitter = asyncio.create_task(commits.submit("b"))
    stayer = asyncio.create_task(commits.submit("c"))
    await until(lambda: len(commits._waiting) == 2)

    quitter.cancel()
    writer.hold.set()

    assert await first == "wrote a"
    assert await stayer == "wrote c"
    assert quitter.cancelled()
    assert writer.groups == [["a"], ["c"]]


async def test_when_the_leader_is_cancelled_mid_write_the_callers_behind_it_are_written_by_the_next_leader() -> None:
    groups: list[list[str]] = []
    gates = {"a": asyncio.Event(), "b": asyncio.Event()}

    async def writer(items: list[str]) -> list[str]:
        groups.append(list(items))
        if items[0] in gates:
            await gates[items[0]].wait()
        return [f"wrote {item}" for item in items]

    commits: GroupCommit[str, str] = GroupCommit(writer)
    first = asyncio.create_task(commits.submit("a"))
    await until(lambda: groups == [["a"]])
    second = asyncio.create_task(commits.submit("b"))
    third = asyncio.create_task(commits.submit("c"))
    await until(lambda: len(commits._waiting) == 2)
    gates["a"].set()
    await until(lambda: groups[-1] == ["b", "c"])  # "b" leads and is being written

    second.cancel()

    assert await first == "wrote a"
    assert await third == "wrote c"
    assert second.cancelled()
    assert groups == [["a"], ["b", "c"], ["c"]]


async def test_the_lead_passes_on_when_the_caller_given_it_is_cancelled_before_it_runs() -> None:
    writer = Writer()
    writer.hold.clear()
    commits: GroupCommit[str, str] = GroupCommit(writer, max_items=1)
    first = asyncio.create_task(commits.submit("a"))
    await writer.writing.wait()
    second = asyncio.create_task(commits.submit("b"))
    third = asyncio.create_task(commits.submit("c"))
    await until(lambda: len(commits._waiting) == 2)
    pass_lead = commits._pass_lead

    def pass_lead_then_cancel_its_taker() -> None:
        pass_lead()
        second.cancel()  # "b" has just been given the lead; it is cancelled before it can take it
        commits._pass_lead = pass_lead  # type: ignore[method-assign]

    commits._pass_lead = pass_lead_then_cancel_its_taker  # type: ignore[method-assign]
    writer.hold.set()

    assert await first == "wrote a"
    assert await third == "wrote c"
    assert second.cancelled()
    assert writer.groups == [["a"], ["c"]]
