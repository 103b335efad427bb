"""What the benchmarks read of other processes from Linux's ``/proc``."""

from __future__ import annotations

import contextlib
from pathlib import Path


def children_of(parent: int) -> list[int]:
    """Processes whose parent is ``parent``: a connector's EWS worker processes (and multiprocessing's resource
    tracker that comes with them), the simulators a bench started."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
    return found
