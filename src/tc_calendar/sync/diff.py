"""Planning: (what a mailbox holds now, what the store holds for it) -> the actions that make them agree.

Pure functions; the store applies the list in one transaction (:mod:`tc_calendar.sync.actions`). An occurrence is
put only when something its user sees changed: its content hash, the user's answer, whether the copy is the
organizer's, or the Exchange item it comes from. Planning twice from the same inputs after applying yields no
puts or drops, so re-running a sync is free.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from tc_calendar.model import OccurrenceKey, Response
from tc_calendar.sync.actions import Action, DropItem, DropOccurrence, PutOccurrence, SaveCheckpoint
from tc_calendar.sync.content_hash import content_hash
from tc_calendar.sync.normalize import SeenOccurrence
from tc_calendar.sync.window import SyncWindow


@dataclass(frozen=True, slots=True)
class StoredView:
    """What the store holds for one occurrence in one mailbox's view, as last put from that mailbox."""

    item_id: str
    content_hash: str
    my_response: Response
    from_organizer_copy: bool = False


@dataclass(frozen=True, slots=True)
class StoredScope:
    """The part of a mailbox's stored view that one incremental page can touch.

    :func:`plan_incremental` looks only at stored occurrences filed under a changed or deleted item, and at those
    with the keys the changed items now produce (all under the items' UIDs). Reading just these keeps a change's
    cost proportional to the change, not to the size of the mailbox's calendar.
    """

    item_ids: frozenset[str]
    uids: frozenset[str]

    def covers(self, key: OccurrenceKey, view: StoredView) -> bool:
        return view.item_id in self.item_ids or key.uid in self.uids


def incremental_scope(changed_item_uids: Mapping[str, str], deleted_item_ids: Iterable[str]) -> StoredScope:
    """The scope of a page whose changed items (id -> UID) and deleted item ids are given."""
    return StoredScope(
        frozenset(changed_item_uids) | frozenset(deleted_item_ids), frozenset(changed_item_uids.values())
    )


def put_for(seen: SeenOccurrence) -> PutOccurrence:
    """The action that records ``seen`` in its mailbox's view."""
    return PutOccurrence(
        mailbox=seen.mailbox,
        item_id=seen.item_id,
        occurrence=seen.occurrence,
        my_response=seen.my_response,
        from_organizer_copy=seen.from_organizer_copy,
        content_hash=content_hash(seen.occurrence),
    )


def view_of(put: PutOccurrence) -> StoredView:
    """What the store holds after applying ``put`` (the comparison basis of the next plan)."""
    return StoredView(put.item_id, put.content_hash, put.my_response, put.from_organizer_copy)


def _checkpoint(mailbox: str, sync_state: str | None, window: SyncWindow) -> SaveCheckpoint:
    return SaveCheckpoint(mailbox, sync_state, window.start, window.end)


def _latest_by_key(seen: Iterable[SeenOccurrence], mailbox: str) -> dict[OccurrenceKey, PutOccurrence]:
    puts: dict[OccurrenceKey, PutOccurrence] = {}
    for s in seen:
        if s.mailbox != mailbox:
            raise ValueError(f"an occurrence of mailbox {s.mailbox} was given to plan mailbox {mailbox}")
        puts[s.occurrence.key] = put_for(s)
    return puts


def plan_full_sync(
    mailbox: str,
    seen: Iterable[SeenOccurrence],
    stored: Mapping[OccurrenceKey, StoredView],
    *,
    sync_state: str | None,
    window: SyncWindow,
) -> list[Action]:
    """Make the mailbox's view exactly ``seen`` (everything the mailbox shows in ``window``).

    Drops come first (stored keys no longer seen: deleted, slid out of the window, no longer invited), then the
    puts of new or changed occurrences, then the checkpoint with the new sync state and window.
    """
    puts = _latest_by_key(seen, mailbox)
    actions: list[Action] = [DropOccurrence(mailbox, key) for key in sorted(stored, key=_order) if key not in puts]
    actions += [put for key, put in puts.items() if stored.get(key) != view_of(put)]
    actions.append(_checkpoint(mailbox, sync_state, window))
    return actions


def plan_incremental(
    mailbox: str,
    changed: Mapping[str, Sequence[SeenOccurrence]],
    deleted_item_ids: Iterable[str],
    stored: Mapping[OccurrenceKey, StoredView],
    *,
    sync_state: str | None,
    window: SyncWindow,
) -> list[Action]:
    """Apply one page of incremental changes to the mailbox's view.

    ``changed`` maps each created or updated Exchange item (by id; see
    :func:`tc_calendar.sync.normalize.normalize_changes`) to everything it now shows in the window, empty when it
    shows nothing (no longer invited, moved out of the window); stored occurrences filed under that id and no
    longer shown are dropped. ``deleted_item_ids`` are items gone from the
    calendar. Order: whole items dropped, then occurrences an updated item no longer produces (unless another
    changed item now produces them), then puts, then the checkpoint.
    """
    deleted = set(deleted_item_ids) - set(changed)
    puts = _latest_by_key((s for group in changed.values() for s in group), mailbox)
    actions: list[Action] = [DropItem(mailbox, item_id) for item_id in sorted(deleted)]
    remaining = {key: view for key, view in stored.items() if view.item_id not in deleted}
    for key in sorted(remaining, key=_order):
        if remaining[key].item_id in changed and key not in puts:
            actions.append(DropOccurrence(mailbox, key))
    actions += [put for key, put in puts.items() if remaining.get(key) != view_of(put)]
    actions.append(_checkpoint(mailbox, sync_state, window))
    return actions


def _order(key: OccurrenceKey) -> tuple[str, str]:
    return (key.uid, key.recurrence_id.isoformat() if key.recurrence_id else "")
