"""The path of one EWS request after authentication: parse, admit, pick the mailbox, dispatch, serialise.

Order matters and follows Exchange: throttling and injected faults are decided before the body is looked at
(the gate), impersonation is checked before the operation runs (a SOAP fault for the whole request), and
errors of single items become error ResponseMessages inside a normal 200 response.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from ews_sim import soap
from ews_sim.schema import validate_payload
from ews_sim.services import HANDLERS
from ews_sim.services.common import as_soap_error
from ews_sim.services.context import RequestContext, ServerSettings, StreamingReply
from ews_sim.world import errors as werr
from ews_sim.world.core import World
from ews_sim.world.model import Account, Mailbox
from ews_sim.xml_names import m

log = logging.getLogger(__name__)

CONNECTION_COUNT_CODE = "ErrorExceededConnectionCount"
CONNECTION_COUNT_TEXT = (
    "You have exceeded the available concurrent connections for your account. "
    "Try again once your other requests have completed."
)


@dataclass
class Reply:
    """What the HTTP layer sends: a status and a body, or a streaming reply."""

    status: int
    body: bytes = b""
    streaming: StreamingReply | None = None
    # Ends a streaming request's admission once the stream is over, with its outcome for the counters.
    release: Callable[[str], None] | None = None


def _fault_reply(fault: soap.SoapFault) -> Reply:
    return Reply(500, soap.fault_envelope(fault))


def whole_request_error(operation: str, error: soap.EwsError) -> etree._Element:
    """``<m:OpResponse>`` with a single error message: how Exchange reports a failure that precedes the items
    (an unavailable mailbox, access denied to a delegated mailbox)."""
    root, messages = soap.response_root(operation)
    soap.error_message(messages, operation, error)
    return root


def first_error_code(root: etree._Element) -> str:
    """The first error or warning code of a response, for the counters; "NoError" when every message succeeded.

    Response messages are the children of ``m:ResponseMessages``; only they are looked at (a GetItem answer of
    hundreds of items is otherwise walked element by element). A response shaped otherwise is walked whole.
    """
    messages = root.find(m("ResponseMessages"))
    for msg in messages if messages is not None else root.iter():
        if isinstance(msg.tag, str) and msg.get("ResponseClass") in ("Error", "Warning"):
            code = msg.find(m("ResponseCode"))
            if code is not None and code.text:
                return str(code.text)
    return "NoError"


def _resolve_mailbox(world: World, account: Account, request: soap.SoapRequest) -> tuple[Mailbox | None, bool]:
    """The mailbox of the request: the impersonated one, or the caller's own (None for an account without one)."""
    imp = request.impersonation
    if imp is not None:
        if imp.kind not in ("PrimarySmtpAddress", "SmtpAddress", "PrincipalName"):
            # SID-based impersonation needs Active Directory; the simulator has none.
            raise werr.NonExistentMailbox(f"The impersonation principal '{imp.value}' cannot be resolved.")
        return world.open_mailbox(account, imp.value, impersonate=True), True
    if account.smtp:
        return world.open_mailbox(account), False
    return None, False


def process(
    world: World, login: str, data: bytes, settings: ServerSettings, stopping: threading.Event | None = None
) -> Reply:
    """Run one authenticated EWS request and build its reply."""
    account = world.account(login)
    if account is None:  # credentials were removed between authentication and now
        world.gate.count("Unauthenticated", "HTTP 401")
        return Reply(401)
    request: soap.SoapRequest | None = None
    parse_fault: soap.SoapFault | None = None
    try:
        request = soap.parse_request(data)
    except soap.SoapFault as fault:
        parse_fault = fault
    operation = request.operation if request is not None else "Invalid"
    handler = HANDLERS.get(operation)
    try:
        # Admission comes first: IIS-level failures and throttling happen before EWS reads the body.
        ticket = world.gate.admit(operation, account.login)
    except werr.HttpFault as exc:
        return Reply(exc.status, b"")
    except werr.ServerBusy as exc:
        if world.gate.in_flight(account.login) >= world.gate.max_concurrency:
            # EWSMaxConcurrency: Exchange answers ErrorExceededConnectionCount, not ErrorServerBusy (the gate
            # counted the refusal as ErrorServerBusy; it is recounted under the code actually sent).
            world.gate.count(operation, CONNECTION_COUNT_CODE)
            return _fault_reply(soap.SoapFault(CONNECTION_COUNT_CODE, CONNECTION_COUNT_TEXT))
        # Throttling rejects the whole request: Exchange sends a SOAP fault (HTTP 500) whose detail carries
        # BackOffMilliseconds; exchangelib turns it into ErrorServerBusy(back_off=seconds).
        busy = soap.SoapFault(exc.response_code, exc.message, values={"BackOffMilliseconds": str(exc.backoff_ms)})
        return _fault_reply(busy)
    streaming = False
    try:
        if ticket.delay_seconds > 0:
            time.sleep(ticket.delay_seconds)
        if request is None:
            assert parse_fault is not None
            ticket.outcome = parse_fault.code
            return _fault_reply(parse_fault)
        if settings.validate_requests:
            try:
                validate_payload(request.payload)
            except soap.SoapFault as fault:
                ticket.outcome = fault.code
                return _fault_reply(fault)
        if handler is None:
            # Not ErrorInvalidRequest: exchangelib reads that as a wrong RequestServerVersion and retries others.
            ticket.outcome = "ErrorInvalidOperation"
            return _fault_reply(
                soap.SoapFault("ErrorInvalidOperation", f"The simulator does not implement the operation {operation}.")
            )
        try:
            mailbox, impersonating = _resolve_mailbox(world, account, request)
        except (werr.ImpersonateUserDenied, werr.NonExistentMailbox) as exc:
            # Exchange rejects a bad ExchangeImpersonation header for the whole request with a SOAP fault.
            ticket.outcome = exc.response_code
            return _fault_reply(soap.SoapFault(exc.response_code, exc.message))
        except werr.EwsError as exc:
            ticket.outcome = exc.response_code
            return Reply(200, soap.envelope(whole_request_error(operation, as_soap_error(exc))))
        ctx = RequestContext(world, account, mailbox, request, settings, impersonating)
        if stopping is not None:
            ctx.stopping = stopping
        try:
            # An error switched on with gate.fail_ews: the server failed inside, after it accepted the caller.
            world.gate.injected_error(operation)
            result = handler(ctx)
        except soap.SoapFault as fault:
            ticket.outcome = fault.code
            return _fault_reply(fault)
        except soap.EwsError as exc:
            ticket.outcome = exc.code
            return Reply(200, soap.envelope(whole_request_error(operation, exc)))
        except werr.EwsError as exc:
            ticket.outcome = exc.response_code
            return Reply(200, soap.envelope(whole_request_error(operation, as_soap_error(exc))))
        if isinstance(result, StreamingReply):
            streaming = True

            def finish(outcome: str) -> None:
                ticket.outcome = outcome
                world.gate.release(ticket)

            return Reply(200, streaming=result, release=finish)
        ticket.outcome = first_error_code(result)
        return Reply(200, soap.envelope(result))
    except Exception:
        log.exception("internal error in %s", operation)
        ticket.outcome = "ErrorInternalServerError"
        return _fault_reply(soap.SoapFault("ErrorInternalServerError", "An internal server error occurred."))
    finally:
        if not streaming:
            world.gate.release(ticket)
