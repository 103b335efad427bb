"""What an operation handler receives, and the streaming reply some handlers return."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from ews_sim.soap import SoapRequest
from ews_sim.world.core import World
from ews_sim.world.errors import NonExistentMailbox
from ews_sim.world.model import Account, Mailbox


@dataclass
class ServerSettings:
    """Protocol-level knobs that are not world state.

    ``streaming_keepalive_seconds``: how often GetStreamingEvents sends a notification-less message while
    nothing happens (Exchange keeps the HTTP response alive this way).
    ``connection_timeout_unit_seconds``: the length of one ``ConnectionTimeout`` unit (a minute in Exchange;
    tests shorten it so a streaming call ends in seconds).
    ``validate_requests``: check operation elements against messages.xsd (ErrorSchemaValidation) as Exchange does.
    """

    streaming_keepalive_seconds: float = 30.0
    connection_timeout_unit_seconds: float = 60.0
    validate_requests: bool = True


@dataclass
class RequestContext:
    """One authenticated, admitted EWS request: who calls, on which mailbox, with which payload."""

    world: World
    account: Account
    mailbox: Mailbox | None  # the mailbox the request acts on (impersonated, or the caller's own; None if it has none)
    request: SoapRequest
    settings: ServerSettings
    impersonating: bool = False
    notes: dict[str, str] = field(default_factory=dict)
    #: Mailboxes whose items this request was already allowed to open (casefolded addresses).
    opened_for_items: set[str] = field(default_factory=set)
    #: Set when the server stops; long-running responses (streams) end at their next check.
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def payload(self) -> etree._Element:
        return self.request.payload

    def open_mailbox(self, smtp: str | None = None) -> Mailbox:
        """The mailbox an id in the request names (``<t:Mailbox>`` of a DistinguishedFolderId), or the default one.

        Another mailbox than the default is opened with the caller's own rights (delegate access); the world
        raises AccessDenied, NonExistentMailbox or MailboxUnavailable as Exchange would.
        """
        if smtp and (self.mailbox is None or smtp.casefold() != self.mailbox.smtp.casefold()):
            return self.world.open_mailbox(self.account, smtp)
        if self.mailbox is None:
            raise NonExistentMailbox("The account has no mailbox; use impersonation or name a mailbox.")
        # Re-read it: the snapshot may predate a fault that made the mailbox unavailable.
        return self.world.mailbox(self.mailbox.smtp)


@dataclass
class StreamingReply:
    """A response sent as HTTP chunks, one complete SOAP envelope per chunk (GetStreamingEvents)."""

    chunks: Iterator[bytes]
