"""The garbage collector's thresholds while the service runs: young objects are walked every 50,000 net
allocations instead of 700, so that a full walk of the half a million objects of 10,000 mailboxes is rare; and the
process's own thresholds are back once the service stopped."""

from __future__ import annotations

import gc
import weakref

from tc_calendar.collector import THRESHOLDS, collecting_less_often


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_the_service_collects_less_often_and_gives_the_thresholds_back() -> None:
    before = gc.get_threshold()
    with collecting_less_often():
        assert gc.get_threshold() == THRESHOLDS
        with collecting_less_often():  # a second service in the same process (as in tests)
            pass
        assert gc.get_threshold() == THRESHOLDS  # the first still runs
    assert gc.get_threshold() == before


def test_reference_cycles_are_still_collected() -> None:
    with collecting_less_often():
        gc.collect()  # the count of allocations starts from nothing
        first, second = Node(), Node()
        first.other, second.other = second, first
        garbage = weakref.ref(first)
        del first, second
        kept = []
        for _ in range(THRESHOLDS[0] * 2):  # net allocations bring the young collection that frees the cycle
            kept.append(Node())
            if garbage() is None:
                break
        assert garbage() is None
        assert len(kept) > 700  # not as soon as with CPython's defaults
