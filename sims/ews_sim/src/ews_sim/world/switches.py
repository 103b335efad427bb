"""Faults held by the world itself (request-level ones are on ``world.gate``, see faults.py)."""

from __future__ import annotations

from datetime import timedelta

from ews_sim.world.base import WorldBase, smtp_key
from ews_sim.world.changes import (
    SubscriptionKind,
)
from ews_sim.world.errors import (
    EwsError,
    InternalServerTransientError,
    InvalidRequest,
    MailboxMoveInProgress,
    MailboxUnavailable,
)

#: Errors a whole mailbox can be switched to answer with.
MAILBOX_FAULTS: dict[str, type[EwsError]] = {
    error.response_code: error for error in (MailboxUnavailable, MailboxMoveInProgress, InternalServerTransientError)
}


class FaultSwitches(WorldBase):
    """Unavailable mailboxes, invalidated sync states, expired subscriptions, dropped streams."""

    def set_mailbox_unavailable(
        self,
        smtp: str,
        unavailable: bool = True,
        *,
        move_in_progress: bool = False,
        seconds: float | None = None,
        response_code: str | None = None,
    ) -> None:
        """Make a mailbox answer ErrorMailboxStoreUnavailable (ErrorMailboxMoveInProgress with
        ``move_in_progress``, or any of ``MAILBOX_FAULTS`` by ``response_code``) for EWS, until cleared or, with
        ``seconds``, for that long on the world's clock. Control methods still work."""
        if response_code is not None and response_code not in MAILBOX_FAULTS:
            raise InvalidRequest(f"response_code must be one of {sorted(MAILBOX_FAULTS)}")
        with self.lock:
            mailbox = self._mailbox(smtp)
            if unavailable:
                default = MailboxMoveInProgress if move_in_progress else MailboxUnavailable
                error = MAILBOX_FAULTS[response_code] if response_code else default
                until = None if seconds is None else self.clock() + timedelta(seconds=seconds)
                self._unavailable[mailbox.smtp] = (error, until)
            else:
                self._unavailable.pop(mailbox.smtp, None)

    def set_item_corrupt(self, item_id: str, corrupt: bool = True) -> None:
        """Make GetItem of an item (a single or a whole series) fail with ErrorItemCorrupt; FindItem, CalendarView
        and SyncFolderItems still list it, as with a damaged item in a real store."""
        with self.lock:
            record, _ = self._resolve(item_id)
            if corrupt:
                self._corrupt.add(record.key)
            else:
                self._corrupt.discard(record.key)

    def unavailable_mailboxes(self) -> dict[str, str]:
        """SMTP address -> the ResponseCode it answers with, for mailboxes made unavailable."""
        with self.lock:
            found = {smtp: self._unavailable_fault(smtp) for smtp in sorted(self._unavailable)}
            return {smtp: error.response_code for smtp, error in found.items() if error is not None}

    def invalidate_sync_states(self, smtp: str) -> None:
        """Every sync state issued so far for the mailbox's folders becomes ErrorInvalidSyncStateData."""
        with self.lock:
            self._sync_generation[self._mailbox(smtp).smtp] += 1

    def expire_subscriptions(self, smtp: str | None = None) -> int:
        """Expire subscriptions (of one mailbox, or all); returns how many."""
        with self._cond:
            count = self._subscriptions.expire(None if smtp is None else smtp_key(smtp))
            self._wake_streams()
            return count

    def drop_streaming_connections(self) -> None:
        """Wake every :meth:`wait_for_events` caller with StreamingConnectionDropped."""
        with self._cond:
            for sub in self._subscriptions.all():
                if sub.kind == SubscriptionKind.STREAMING:
                    sub.drop_pending = True
            self._wake_streams()

    def clear_faults(self) -> None:
        """Switch off every fault (gate ones too)."""
        with self.lock:
            self.gate.clear()
            self._unavailable.clear()
            self._corrupt.clear()
