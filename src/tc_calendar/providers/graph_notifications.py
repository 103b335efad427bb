"""Microsoft Graph change notifications as the connector receives them: subscriptions known, senders checked.

The connector's own HTTP server mounts two routes (:mod:`tc_calendar.api.graph_routes`) that hand what Graph
POSTs to one :class:`GraphInbox`, shared by every Graph provider of the process. The inbox knows each live
subscription (its id, the mailbox, the random ``clientState`` given when it was created) and whom to wake.

Rules, from Graph's webhook contract:

* A POST with a ``validationToken`` query parameter is the validation handshake: answer 200 with the token as
  ``text/plain`` at once (Graph waits 10 s), before any other work.
* A notification is trusted only when its ``subscriptionId`` is one we created and its ``clientState`` is the
  secret we gave that subscription (compared in constant time). Anything else is refused and logged: anyone can
  POST to a public URL.
* A notification only *triggers* a delta round of its mailbox; its content (``resourceData``) is never used as
  data, since the delta round reads the truth from Graph.
* Lifecycle notifications (``reauthorizationRequired``, ``subscriptionRemoved``, ``missed``) go to the provider
  that owns the subscription, which renews or re-creates it and runs a delta round.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

NOTIFICATIONS_PATH = "/graph/notifications"
LIFECYCLE_PATH = "/graph/lifecycle"

LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")


@dataclass(frozen=True, slots=True)
class Delivery:
    """A trusted notification: which subscription, of which mailbox; ``lifecycle`` names a lifecycle event."""

    subscription_id: str
    mailbox: str
    lifecycle: str | None = None


DeliverySink = Callable[[Delivery], None]


@dataclass(frozen=True, slots=True)
class _Registration:
    mailbox: str
    client_state: str
    sink: DeliverySink


@dataclass(frozen=True, slots=True)
class InboxVerdict:
    """What one POST held: how many notifications were trusted and how many refused."""

    accepted: int
    refused: int


def notification_urls(public_url: str) -> tuple[str, str]:
    """The notification and lifecycle URLs Graph is given for the connector's public base URL."""
    base = public_url.rstrip("/")
    if base.endswith(NOTIFICATIONS_PATH):
        base = base[: -len(NOTIFICATIONS_PATH)]
    return f"{base}{NOTIFICATIONS_PATH}", f"{base}{LIFECYCLE_PATH}"


class GraphInbox:
    """The subscriptions this process created, and the check every notification passes before it wakes anyone."""

    def __init__(self) -> None:
        self._subscriptions: dict[str, _Registration] = {}
        self.refused = 0
        """Notifications refused since start (wrong clientState, unknown subscription); for tests and the log."""

    def register(self, subscription_id: str, mailbox: str, client_state: str, sink: DeliverySink) -> None:
        self._subscriptions[subscription_id] = _Registration(mailbox, client_state, sink)

    def unregister(self, subscription_id: str) -> None:
        self._subscriptions.pop(subscription_id, None)

    def knows(self, subscription_id: str) -> bool:
        return subscription_id in self._subscriptions

    def receive(self, payload: Any, *, lifecycle: bool = False, peer: str = "?") -> InboxVerdict:
        """Check and dispatch the notifications of one POST body (``{"value": [...]}``)."""
        values = payload.get("value") if isinstance(payload, Mapping) else None
        if not isinstance(values, list):
            log.warning("Graph notification from %s refused: not a notification collection", peer)
            self.refused += 1
            return InboxVerdict(0, 1)
        accepted = refused = 0
        for value in values:
            delivery = self._check(value, lifecycle=lifecycle, peer=peer)
            if delivery is None:
                refused += 1
                continue
            accepted += 1
            registration = self._subscriptions.get(delivery.subscription_id)
            if registration is not None:
                try:
                    registration.sink(delivery)
                except Exception:
                    log.exception("handling a Graph notification for %s failed", delivery.mailbox)
        self.refused += refused
        return InboxVerdict(accepted, refused)

    def _check(self, value: Any, *, lifecycle: bool, peer: str) -> Delivery | None:
        if not isinstance(value, Mapping):
            log.warning("Graph notification from %s refused: not an object", peer)
            return None
        subscription_id = str(value.get("subscriptionId") or "")
        registration = self._subscriptions.get(subscription_id)
        if registration is None:
            log.warning("Graph notification from %s refused: unknown subscription %r", peer, subscription_id)
            return None
        given = str(value.get("clientState") or "")
        if not hmac.compare_digest(given.encode(), registration.client_state.encode()):
            log.warning(
                "Graph notification from %s for %s refused: wrong clientState (not sent by Microsoft Graph for "
                "our subscription)",
                peer,
                registration.mailbox,
            )
            return None
        event = str(value.get("lifecycleEvent") or "") or None
        if lifecycle and event not in LIFECYCLE_EVENTS:
            log.info("Graph lifecycle notification %r for %s: running a delta round", event, registration.mailbox)
        return Delivery(subscription_id, registration.mailbox, event if lifecycle or event else None)
