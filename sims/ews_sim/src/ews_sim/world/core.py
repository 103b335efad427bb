"""The World: the state of a simulated Exchange organisation and every operation on it.

Pure Python (no sockets, no XML). The protocol layer's handlers call the read side (``open_mailbox``,
``calendar_view``, ``find_items``, ``get_item``, ``sync_folder_items``, subscriptions) and ``gate`` for faults;
tests, scenarios and the control API call the write side, which behaves as Outlook users would
(``create_meeting``, ``respond``, ``update_meeting``, ``cancel_meeting``...).

All methods are thread-safe: one re-entrant lock guards the state, and a condition on it wakes streaming
waiters when the journal grows. SMTP addresses and logins compare case-insensitively.

The operations are grouped by job, one module each: directory.py (accounts, mailboxes, access), calendars.py
(reading, appointments, raw edits), scheduling.py (meetings), tracking.py (SyncFolderItems, subscriptions),
switches.py (world-level faults), on the shared state and store internals of base.py.
"""

from __future__ import annotations

from ews_sim.world.base import AttendeeSpec
from ews_sim.world.calendars import Calendars
from ews_sim.world.clock import Clock, SimClock, utc_now
from ews_sim.world.directory import Directory
from ews_sim.world.scheduling import Scheduling
from ews_sim.world.switches import FaultSwitches
from ews_sim.world.tracking import Tracking

__all__ = ["AttendeeSpec", "Clock", "SimClock", "World", "utc_now"]


class World(Directory, Calendars, Scheduling, Tracking, FaultSwitches):
    """A simulated Exchange organisation. ``World(clock=None)``: see :class:`~ews_sim.world.base.WorldBase`."""
