"""Change tracking over the journal: SyncFolderItems and notification subscriptions (pull and streaming)."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable, Sequence

from ews_sim.world import ids
from ews_sim.world.base import WorldBase
from ews_sim.world.changes import (
    ChangeKind,
    Event,
    EventBatch,
    EventType,
    Subscription,
    SubscriptionKind,
    SyncChange,
    SyncResult,
    net_changes,
)
from ews_sim.world.errors import (
    FolderNotFound,
    InvalidRequest,
    ItemNotFound,
    StreamingConnectionDropped,
)
from ews_sim.world.store import (
    view,
)


def _event_type(value: EventType | str) -> EventType:
    text = str(value)
    if not text.endswith("Event"):
        text += "Event"
    return EventType(text)


class Tracking(WorldBase):
    """SyncFolderItems, Subscribe, GetEvents, streaming waits and Unsubscribe."""

    def sync_folder_items(self, folder_id: str, sync_state: str | None, max_changes: int = 512) -> SyncResult:
        """SyncFolderItems on a calendar folder: net changes (one per item) since ``sync_state``.

        Unpackable as ``changes, new_state, includes_last_item_in_range``. Raises InvalidSyncStateData for a
        garbled state, one from another folder, or one invalidated by a fault.
        """
        if not 1 <= max_changes <= 512:
            raise InvalidRequest("MaxChangesReturned must be between 1 and 512.")
        with self.lock:
            folder = self.folder(folder_id)
            smtp = self.mailbox_of_id(folder_id)
            folder_key = ids.parse_folder_id(folder_id).key
            generation = self._sync_generation[smtp]
            position = 0 if not sync_state else self.journal.parse_sync_state(sync_state, folder_key, generation)
            entries = self.journal.folder_since(folder.folder_id, position)
            found, consumed, complete = net_changes(entries, folder.folder_id, max_changes)
            new_position = self.journal.last_seq if complete else max(consumed, position)
            changes: list[SyncChange] = []
            for change in found:
                if change.kind == ChangeKind.DELETE:
                    changes.append(SyncChange(ChangeKind.DELETE, change.item_id, None))
                    continue
                try:
                    record, _ = self._resolve(change.item_id)
                except ItemNotFound:
                    if change.kind == ChangeKind.UPDATE:  # deleted later, beyond this batch
                        changes.append(SyncChange(ChangeKind.DELETE, change.item_id, None))
                    continue
                changes.append(SyncChange(change.kind, change.item_id, record.item.change_key, view(record)))
            state = self.journal.sync_state(folder_key, generation, new_position)
            return SyncResult(changes, state, complete)

    def subscribe(
        self,
        smtp: str,
        kind: SubscriptionKind | str = SubscriptionKind.PULL,
        event_types: Iterable[EventType | str] = (),
        *,
        folder_ids: Iterable[str] | None = None,
        all_folders: bool = False,
        watermark: str | None = None,
        timeout_minutes: int = 30,
        owner_login: str | None = None,
    ) -> tuple[str, str]:
        """Create a subscription on folders of one mailbox (default: its calendar). Returns (id, watermark).

        With ``watermark`` (from an earlier subscription) events after it are delivered; InvalidWatermark if
        it is not ours. Empty ``event_types`` means every type.
        """
        try:
            sub_kind = SubscriptionKind(kind)
            types = frozenset(_event_type(t) for t in event_types)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc
        if not 1 <= timeout_minutes <= 1440:
            raise InvalidRequest("Timeout must be between 1 and 1440 minutes.")
        with self.lock:
            mailbox = self.mailbox(smtp)
            folders = [mailbox.calendar_folder_id] if folder_ids is None else list(folder_ids)
            for fid in folders:
                if self.mailbox_of_id(fid) != mailbox.smtp:
                    raise FolderNotFound()
                self.folder(fid)
            sub = self._subscriptions.create(
                sub_kind,
                mailbox.smtp,
                frozenset(folders),
                all_folders,
                types,
                watermark,
                timeout_minutes,
                owner_login,
            )
            return sub.subscription_id, self.journal.watermark(sub.position)

    def get_events(self, subscription_id: str, watermark: str | None = None) -> EventBatch:
        """GetEvents on a pull subscription; resets its expiry timer.

        SubscriptionNotFound for unknown ids, ExpiredSubscription once ``timeout_minutes`` passed without a
        call (or after the expire fault).
        """
        with self.lock:
            return self._subscriptions.get_events(subscription_id, watermark)

    def wait_for_events(self, subscription_ids: Sequence[str], timeout: float) -> dict[str, list[Event]]:
        """Block (real time, up to ``timeout`` seconds) until streaming subscriptions have new events; return and
        mark them delivered. Returns {} on timeout. Raises StreamingConnectionDropped when the drop fault fires
        (also if it fired between two calls), SubscriptionNotFound/ExpiredSubscription for bad ids.

        A wake-up costs a look at each subscription's last journal position, and only when the journal grew or
        subscriptions changed: thousands of subscriptions waiting on one world stay cheap.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            subs: list[Subscription] = []
            seen: tuple[int, int] | None = None
            while True:
                if seen is None or seen[1] != self._stream_changes:
                    subs = self._subscriptions.connected(subscription_ids)
                    if any(s.drop_pending for s in subs):
                        for s in subs:
                            s.drop_pending = False
                        raise StreamingConnectionDropped()
                if seen is None or seen != (self.journal.last_seq, self._stream_changes):
                    seen = (self.journal.last_seq, self._stream_changes)
                    result = {}
                    for sub in subs:
                        if self._subscriptions.has_pending(sub):
                            events = self._subscriptions.take_delivered(sub)
                            if events:
                                result[sub.subscription_id] = events
                    if result:
                        return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return {}
                self._cond.wait(remaining)

    def unsubscribe(self, subscription_id: str) -> None:
        with self._cond:
            self._subscriptions.remove(subscription_id)
            self._wake_streams()

    def subscription(self, subscription_id: str) -> Subscription:
        with self.lock:
            return copy.copy(self._subscriptions.get(subscription_id))
