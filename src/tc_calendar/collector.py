"""How often CPython's garbage collector runs in the connector's process.

The collector counts container objects allocated and freed. With its defaults it walks the young objects every 700
net allocations, and every object the process holds once enough of them have survived a younger collection. At
10,000 mailboxes the connector holds about 520,000 long-lived objects, and a sync allocates many that live for
a few requests: with the defaults, 33 full collections of up to 543 ms ran during one initial sync of 146 s
(9.5 s with the event loop stopped), and a change that arrived during one reached its clients that much later.

With :data:`THRESHOLDS` the young objects are walked every 50,000 net allocations (most of them are freed by then
and never promoted), and older generations correspondingly less often: in the same bench 4 full collections ran
(222 ms in all), the initial sync took 5% less time and the connector 9% less CPU (bench/README.md, "Memory and
garbage collection at 10,000 mailboxes"). Reference cycles are still collected, only later. The EWS worker
processes keep CPython's defaults: they hold few long-lived objects, and with these thresholds a worker held
24 MiB more.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

THRESHOLDS = (50_000, 20, 10)
"""``gc.set_threshold``: net allocations before a young collection, young collections before a middle one, middle
ones before a full one (CPython's defaults: 700, 10, 10)."""


@contextlib.contextmanager
def collecting_less_often() -> Iterator[None]:
    """:data:`THRESHOLDS` while the block runs (the service), the thresholds before it after."""
    before = gc.get_threshold()
    gc.set_threshold(*THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
