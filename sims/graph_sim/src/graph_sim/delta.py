"""calendarView delta: rounds of pages (``$skiptoken``) ending in a ``$deltatoken`` that later gives the changes.

State lives in the server, behind opaque tokens, as in Graph. A delta token stands for a *baseline*: the window,
the mailbox and the changeKey of every instance the client was sent. A later call lists, against the current
calendar view, what is new or has another changeKey (full events) and what has left the window or been
deleted (``@removed``). A skip token stands for the rest of a round: the ids still to send and the baseline
being built; repeating it repeats the page (safe to retry after 429).

Tokens are HMAC-signed: one that was garbled, cut or comes from another simulator is ``resyncRequired``; a
well-formed one whose state is gone (expired by age, by the control API, or after a reset) is
``syncStateNotFound``. Both are 410 Gone, as Graph answers for Outlook delta tokens. As Exchange keeps only a
few sync state generations, only the newest ``KEPT_BASELINES`` delta tokens of a mailbox stay valid.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from graph_sim.errors import GraphError

#: How long an unused delta token stays valid (Graph keeps Outlook sync state for about a week).
DEFAULT_TOKEN_LIFETIME = timedelta(days=7)
#: Page size of a delta round without ``Prefer: odata.maxpagesize``.
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
#: Sync states Exchange keeps per mailbox: older delta tokens of the mailbox become syncStateNotFound.
KEPT_BASELINES = 8
#: Rounds in progress kept per mailbox (their skip tokens); older ones become syncStateNotFound.
KEPT_ROUNDS = 16


@dataclass
class Baseline:
    mailbox: str
    start: datetime
    end: datetime
    change_keys: dict[str, str]  # EWS item id -> changeKey the client holds
    created: datetime


@dataclass
class Round:
    """A round in progress: what is left to send, and the baseline it will end in."""

    mailbox: str
    start: datetime
    end: datetime
    pending: list[tuple[str, bool]]  # (EWS item id, removed?)
    baseline: dict[str, str]
    created: datetime
    page_size: int
    pages: dict[int, str] = field(default_factory=dict)  # offset -> token of that page
    idents: list[bytes] = field(default_factory=list)  # the page tokens' keys in the store
    delta_token: str | None = None


class DeltaError:
    """The 410 errors of delta tokens."""

    @staticmethod
    def not_found() -> GraphError:
        return GraphError(410, "syncStateNotFound", "The sync state generation is not found.")

    @staticmethod
    def other_mailbox() -> GraphError:
        return GraphError(410, "resyncRequired", "The delta token was issued for another mailbox.")

    @staticmethod
    def resync() -> GraphError:
        return GraphError(
            410,
            "resyncRequired",
            "The delta token is not valid: it was garbled or issued by another server. Start a new round "
            "without a token.",
        )


class DeltaStore:
    """Delta and skip token state of one simulator. Thread-safe."""

    def __init__(self, clock: Callable[[], datetime], lifetime: timedelta = DEFAULT_TOKEN_LIFETIME) -> None:
        self._clock = clock
        self.lifetime = lifetime
        self._key = secrets.token_bytes(16)
        self._lock = threading.Lock()
        self._baselines: dict[bytes, Baseline] = {}
        self._rounds: dict[bytes, tuple[Round, int]] = {}  # skip state: round and offset
        self._recent_baselines: dict[str, deque[bytes]] = {}  # per mailbox, oldest first
        self._recent_rounds: dict[str, deque[Round]] = {}

    # -- tokens -----------------------------------------------------------------------------------------------

    def _token(self, kind: bytes, ident: bytes) -> str:
        mac = hmac.new(self._key, kind + ident, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(kind + ident + mac).decode().rstrip("=")

    def _parse(self, token: str, kind: bytes) -> bytes:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError) as exc:
            raise DeltaError.resync() from exc
        if len(raw) != 1 + 16 + 12 or raw[:1] != kind:
            raise DeltaError.resync()
        ident, mac = raw[1:17], raw[17:]
        if not hmac.compare_digest(mac, hmac.new(self._key, kind + ident, hashlib.sha256).digest()[:12]):
            raise DeltaError.resync()
        return ident

    # -- rounds ---------------------------------------------------------------------------------------------

    def start_round(
        self,
        mailbox: str,
        start: datetime,
        end: datetime,
        current: dict[str, str],
        previous: dict[str, str] | None,
        page_size: int,
    ) -> str:
        """A new round against ``previous`` (None: a full sync); returns the skip token of its first page."""
        previous = previous or {}
        pending = [(i, False) for i, ck in current.items() if previous.get(i) != ck]
        pending += [(i, True) for i in previous if i not in current]
        baseline = {i: ck for i, ck in previous.items() if i in current}
        rnd = Round(mailbox, start, end, pending, baseline, self._clock(), page_size)
        with self._lock:
            recent = self._recent_rounds.setdefault(mailbox, deque())
            recent.append(rnd)
            while len(recent) > KEPT_ROUNDS:
                for ident in recent.popleft().idents:
                    self._rounds.pop(ident, None)
        return self._page_token(rnd, 0)

    def _page_token(self, rnd: Round, offset: int) -> str:
        with self._lock:
            token = rnd.pages.get(offset)
            if token is None:
                ident = secrets.token_bytes(16)
                self._rounds[ident] = (rnd, offset)
                rnd.idents.append(ident)
                token = rnd.pages[offset] = self._token(b"S", ident)
            return token

    def page(self, skip_token: str) -> tuple[Round, int]:
        ident = self._parse(skip_token, b"S")
        with self._lock:
            found = self._rounds.get(ident)
        if found is None or self._expired(found[0].created):
            raise DeltaError.not_found()
        return found

    def next_page(self, rnd: Round, offset: int) -> str:
        return self._page_token(rnd, offset)

    def finish(self, rnd: Round) -> str:
        """The delta token of a completed round (the same one when its last page is fetched again)."""
        with self._lock:
            if rnd.delta_token is None:
                ident = secrets.token_bytes(16)
                self._baselines[ident] = Baseline(rnd.mailbox, rnd.start, rnd.end, dict(rnd.baseline), self._clock())
                rnd.delta_token = self._token(b"D", ident)
                recent = self._recent_baselines.setdefault(rnd.mailbox, deque())
                recent.append(ident)
                while len(recent) > KEPT_BASELINES:
                    self._baselines.pop(recent.popleft(), None)
            return rnd.delta_token

    def baseline(self, delta_token: str) -> Baseline:
        ident = self._parse(delta_token, b"D")
        with self._lock:
            found = self._baselines.get(ident)
        if found is None or self._expired(found.created):
            raise DeltaError.not_found()
        return found

    def _expired(self, created: datetime) -> bool:
        return self._clock() - created > self.lifetime

    def expire(self, mailbox: str | None = None) -> int:
        """Forget delta and skip state (of one mailbox, or all): their tokens become syncStateNotFound."""
        with self._lock:
            gone = [k for k, b in self._baselines.items() if mailbox is None or b.mailbox == mailbox.lower()]
            for k in gone:
                del self._baselines[k]
            rounds = [k for k, (r, _) in self._rounds.items() if mailbox is None or r.mailbox == mailbox.lower()]
            for k in rounds:
                del self._rounds[k]
            if mailbox is None:
                self._recent_baselines.clear()
                self._recent_rounds.clear()
            else:
                self._recent_baselines.pop(mailbox.lower(), None)
                self._recent_rounds.pop(mailbox.lower(), None)
            return len(gone) + len(rounds)

    def clear(self) -> None:
        self.expire(None)
