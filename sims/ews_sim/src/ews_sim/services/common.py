"""Helpers shared by operation handlers: per-item error capture and world-error translation."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from lxml import etree

from ews_sim import soap
from ews_sim.timezones import UnknownTimeZone
from ews_sim.world import errors as werr

T = TypeVar("T")


def as_soap_error(exc: werr.EwsError) -> soap.EwsError:
    values = {"BackOffMilliseconds": str(exc.backoff_ms)} if isinstance(exc, werr.ServerBusy) else None
    return soap.EwsError(exc.response_code, exc.message, values=values)


def per_item(messages: etree._Element, operation: str, work: Callable[[], T]) -> T | None:
    """Run ``work`` for one request item; on an EWS error append an error ResponseMessage and return None.

    ErrorMailboxStoreUnavailable and the like fail only the item they hit, as in Exchange's batch semantics.
    """
    try:
        return work()
    except soap.EwsError as exc:
        soap.error_message(messages, operation, exc)
    except werr.EwsError as exc:
        soap.error_message(messages, operation, as_soap_error(exc))
    except UnknownTimeZone as exc:
        soap.error_message(messages, operation, soap.EwsError("ErrorTimeZone", f"Unknown time zone {exc}."))
    return None
