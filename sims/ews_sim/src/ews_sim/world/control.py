"""The control API: one JSON-friendly method per command, and ``dispatch`` for the HTTP mapping.

Parameters and results are plain JSON values: strings, numbers, booleans, lists, dicts; datetimes as ISO 8601
strings (with offset, or naive meaning the mailbox's zone); recurrences as dicts in the scenario format. The
protocol layer maps ``POST /control/<command>`` with a JSON object body to ``dispatch(command, body)``.
Unknown commands and bad parameters raise :class:`~ews_sim.world.errors.InvalidRequest`.
"""

from __future__ import annotations

from typing import Any

from ews_sim.world.core import World

JsonDict = dict[str, Any]


class Control:
    """Commands (each takes keyword parameters and returns a JSON dict):

    directory: ``add_mailbox(smtp, display_name, time_zone?, password?)``,
    ``add_service_account(login, password, impersonation?)``, ``grant_delegate(owner, delegate)``,
    ``list_mailboxes()``;
    calendars: ``create_appointment(mailbox, subject, start, end, ...)``, ``create_meeting(organizer, subject,
    start, end, required?, optional?, location?, body?, all_day?, time_zone?, recurrence?, as_delegate?)``,
    ``respond(attendee, uid, response, occurrence?)``, ``update_meeting(organizer, uid, ...changes)``,
    ``update_occurrence(organizer, uid, occurrence, ...changes)``, ``delete_occurrence(organizer, uid,
    occurrence)``, ``cancel_meeting(organizer, uid)``, ``update_item(item_id, ...changes)``,
    ``delete_item(item_id)``, ``calendar_view(mailbox, start, end)``, ``find_items(mailbox)``,
    ``get_item(item_id)``;
    faults: ``server_busy(count?, backoff_ms?, account?)``, ``http_error(status, count?)``,
    ``latency(ms)``, ``max_concurrency(limit)``, ``drop_streaming()``, ``expire_subscriptions(mailbox?)``,
    ``invalidate_sync_states(mailbox)``, ``mailbox_unavailable(mailbox, unavailable?, move_in_progress?)``,
    ``clear_faults()``, ``faults()``;
    counters: ``counters()``, ``reset_counters()``;
    time: ``now()``, ``advance_clock(seconds)`` (needs a SimClock);
    scenarios: ``load_scenario(scenario)`` (a scenario dict).
    """

    def __init__(self, world: World) -> None:
        self.world = world

    def commands(self) -> list[str]:
        """Names accepted by :meth:`dispatch`."""
        raise NotImplementedError

    def dispatch(self, command: str, params: JsonDict | None = None) -> JsonDict:
        """Run ``command`` with ``params`` as keyword arguments and return its JSON result."""
        raise NotImplementedError
