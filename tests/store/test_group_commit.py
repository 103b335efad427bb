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


class Clock:
    """The clock GroupCommit times its writes with; the test moves it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def written_back_to_back(
    writer: Writer, commits: GroupCommit[str, str], clock: Clock, seconds: float
) -> list[asyncio.Task[str]]:
    """"a", "b" and "c", each queued while the one before is written (a steady stream); the writer holds "c", which
    takes ``seconds`` to write."""
    writer.hold.clear()
    tasks = [asyncio.create_task(commits.submit("a"))]
    await writer.writing.wait()
    for name in ("b", "c"):
        tasks.append(asyncio.create_task(commits.submit(name)))
        await until(lambda: len(commits._waiting) == 1)
        writer.hold.set()  # lets the group being written go; the next one waits for the next set
        writer.hold.clear()
        await until(lambda name=name: writer.groups[-1] == [name])  # type: ignore[misc]
    clock.now += seconds
    return tasks


async def test_under_a_steady_stream_a_leader_gathers_callers_until_its_group_is_large_enough() -> None:
    writer = Writer()
    clock = Clock()
    commits: GroupCommit[str, str] = GroupCommit(writer, max_gather=60.0, gather_until=4, clock=clock)
    earlier = await written_back_to_back(writer, commits, clock, 60.0)
    queued = [asyncio.create_task(commits.submit(name)) for name in ("d", "e")]
    await until(lambda: len(commits._waiting) == 2)
    writer.hold.set()
    await until(lambda: commits._enough is not None)  # "d" leads a fourth group in a row: it gathers

    later = [asyncio.create_task(commits.submit(name)) for name in ("f", "g")]  # the fourth ends the minute's wait

    assert await asyncio.gather(*earlier, *queued, *later) == [f"wrote {name}" for name in "abcdefg"]
    assert writer.groups == [["a"], ["b"], ["c"], ["d", "e", "f", "g"]]


@pytest.mark.parametrize(
    ("gather_until", "last_write_seconds"),
    [(100, 0.01), (2, 60.0)],
    ids=["after-as-long-as-the-last-group-took", "at-once-when-as-many-are-queued-as-it-waits-for"],
)
async def test_under_a_steady_stream_a_leader_writes_what_is_queued(
    gather_until: int, last_write_seconds: float
) -> None:
    writer = Writer()
    clock = Clock()
    commits: GroupCommit[str, str] = GroupCommit(writer, max_gather=60.0, gather_until=gather_until, clock=clock)
    earlier = await written_back_to_back(writer, commits, clock, last_write_seconds)
    queued = [asyncio.create_task(commits.submit(name)) for name in ("d", "e")]
    await until(lambda: len(commits._waiting) == 2)
    writer.hold.set()

    assert await asyncio.gather(*earlier, *queued) == [f"wrote {name}" for name in "abcde"]
    assert writer.groups == [["a"], ["b"], ["c"], ["d", "e"]]


async def test_the_batches_of_one_burst_are_not_kept_waiting_to_gather() -> None:
    writer = Writer()
    writer.hold.clear()
    clock = Clock()
    commits: GroupCommit[str, str] = GroupCommit(writer, max_gather=60.0, gather_until=10, clock=clock)
    first = asyncio.create_task(commits.submit("a"))
    await writer.writing.wait()
    second = [asyncio.create_task(commits.submit(name)) for name in ("b", "c")]
    await until(lambda: len(commits._waiting) == 2)
    writer.hold.set()
    writer.hold.clear()
    await until(lambda: writer.groups == [["a"], ["b", "c"]])
    clock.now += 60.0  # a gathering would last a minute
    straggler = asyncio.create_task(commits.submit("d"))
    await until(lambda: len(commits._waiting) == 1)
    writer.hold.set()

    assert await asyncio.gather(first, *second, straggler) == [f"wrote {name}" for name in "abcd"]
    assert writer.groups == [["a"], ["b", "c"], ["d"]]


async def test_a_leader_cancelled_while_it_gathers_passes_the_lead_and_the_others_are_written() -> None:
    writer = Writer()
    clock = Clock()
    commits: GroupCommit[str, str] = GroupCommit(writer, max_gather=60.0, gather_until=3, clock=clock)
    earlier = await written_back_to_back(writer, commits, clock, 60.0)
    leader = asyncio.create_task(commits.submit("d"))
    follower = asyncio.create_task(commits.submit("e"))
    await until(lambda: len(commits._waiting) == 2)
    writer.hold.set()
    await until(lambda: commits._enough is not None)

    leader.cancel()
    await until(lambda: leader.done() and commits._enough is not None)  # "e" leads now, and gathers in its turn
    joining = asyncio.create_task(commits.submit("f"))
    joining_too = asyncio.create_task(commits.submit("g"))

    assert await asyncio.gather(follower, joining, joining_too) == ["wrote e", "wrote f", "wrote g"]
    assert leader.cancelled()
    assert writer.groups == [["a"], ["b"], ["c"], ["e", "f", "g"]]
    assert await asyncio.gather(*earlier) == ["wrote a", "wrote b", "wrote c"]
