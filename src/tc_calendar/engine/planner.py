"""The engine's side of the sync core: provider records + stored views -> store actions.

A thin adapter over :mod:`tc_calendar.sync.normalize` (who sees what) and :mod:`tc_calendar.sync.diff` (what
changed), holding the conference link rules from the configuration. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tc_calendar.model import OccurrenceKey
from tc_calendar.records import RemoteItem, SyncBatch
from tc_calendar.sync.actions import Action, DropOccurrence
from tc_calendar.sync.diff import StoredScope, StoredView, incremental_scope, plan_full_sync, plan_incremental
from tc_calendar.sync.links import DEFAULT_RULES, LinkFinder, LinkRule, compile_rule
from tc_calendar.sync.normalize import SeenOccurrence, item_uid, normalize_item, normalize_items
from tc_calendar.sync.window import SyncWindow


class DiffPlanner:
    """Plans window and incremental syncs with the configured link rules."""

    def __init__(self, links: LinkFinder | None = None) -> None:
        self.links = links or LinkFinder()

    @classmethod
    def from_settings(cls, settings: Any) -> DiffPlanner:
        """Configured ``linkRules`` first, then the built-in TrueConf rules; the default server from ``trueconf``."""
        rules: list[LinkRule] = [compile_rule(rule.name, rule.pattern) for rule in settings.link_rules]
        trueconf = getattr(settings, "trueconf", None)
        server = None
        if trueconf is not None:
            server = str(trueconf.url).split("://", 1)[-1].split("/", 1)[0] or None
        return cls(LinkFinder([*rules, *DEFAULT_RULES], default_server=server))

    def full(
        self,
        mailbox: str,
        items: Sequence[RemoteItem],
        stored: Mapping[OccurrenceKey, StoredView],
        window: SyncWindow,
        sync_state: str | None,
    ) -> list[Action]:
        seen = normalize_items(items, window, self.links)
        return plan_full_sync(mailbox, seen, stored, sync_state=sync_state, window=window)

    def incremental_scope(self, batch: SyncBatch) -> StoredScope:
        """What :meth:`incremental` needs of the stored view for ``batch`` (read only that)."""
        return incremental_scope({item.item_id: item_uid(item) for item in batch.items}, batch.deleted_item_ids)

    def incremental(
        self,
        mailbox: str,
        batch: SyncBatch,
        stored: Mapping[OccurrenceKey, StoredView],
        window: SyncWindow,
    ) -> list[Action]:
        # SyncFolderItems reports singles and masters; their occurrences are filed under the item's own id.
        changed: dict[str, list[SeenOccurrence]] = {}
        for item in batch.items:
            changed.setdefault(item.item_id, []).extend(normalize_item(item, window, self.links))
        return plan_incremental(
            mailbox, changed, batch.deleted_item_ids, stored, sync_state=batch.sync_state, window=window
        )

    def slide(
        self,
        mailbox: str,
        items: Sequence[RemoteItem],
        slid_out: Sequence[OccurrenceKey],
        stored: Mapping[OccurrenceKey, StoredView],
        window: SyncWindow,
        sync_state: str | None,
    ) -> list[Action]:
        """The window moved: put what the slice brought (series expanded over the whole new window, so their
        occurrences already stored are no-ops), drop what slid out, keep the SyncState, record the new window."""
        changed: dict[str, list[SeenOccurrence]] = {}
        for item in items:
            changed.setdefault(item.item_id, []).extend(normalize_item(item, window, self.links))
        actions = plan_incremental(mailbox, changed, (), stored, sync_state=sync_state, window=window)
        dropped = {a.key for a in actions if isinstance(a, DropOccurrence)}
        extra: list[Action] = [DropOccurrence(mailbox, key) for key in slid_out if key in stored and key not in dropped]
        return extra + actions
