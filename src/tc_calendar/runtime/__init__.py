"""How the connector's background work runs: one way to repeat a step, one way to start and stop the loops.

* :func:`repeat` runs one loop: a step, then a wait for the next round (its interval, a sooner time the step asks
  for, a wake-up, or the stop), with a failing step logged once per outage (:class:`~tc_calendar.failure_log.
  FailureLog`) and retried after a pause.
* :class:`Loops` starts named loops as tasks that share one stop event and stops them at shutdown.

The conference launcher, housekeeping, the licence guard, the sync engine's roster round and the API's change
feed are loops of this kind; ``service.running_connector`` only wires them.
"""

from tc_calendar.runtime.loop import Wakeup, pause, repeat
from tc_calendar.runtime.loops import Loops

__all__ = ["Loops", "Wakeup", "pause", "repeat"]
