"""XML namespaces of EWS and small helpers to build qualified names.

EWS uses four namespaces: the SOAP 1.1 envelope, ``messages`` (request/response wrappers), ``types`` (items,
folders, ids) and ``errors`` (only inside SOAP fault details). Exchange always emits the prefixes ``s``, ``m``
and ``t``; clients must not depend on prefixes, but matching them keeps captured traffic comparable.
"""

from __future__ import annotations

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
MESSAGES_NS = "http://schemas.microsoft.com/exchange/services/2006/messages"
TYPES_NS = "http://schemas.microsoft.com/exchange/services/2006/types"
ERRORS_NS = "http://schemas.microsoft.com/exchange/services/2006/errors"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

NSMAP: dict[str | None, str] = {"s": SOAP_NS, "m": MESSAGES_NS, "t": TYPES_NS}


def s(local: str) -> str:
    """Clark-notation name in the SOAP envelope namespace."""
    return f"{{{SOAP_NS}}}{local}"


def m(local: str) -> str:
    """Clark-notation name in the EWS messages namespace."""
    return f"{{{MESSAGES_NS}}}{local}"


def t(local: str) -> str:
    """Clark-notation name in the EWS types namespace."""
    return f"{{{TYPES_NS}}}{local}"


def e(local: str) -> str:
    """Clark-notation name in the EWS errors namespace (used in SOAP fault details)."""
    return f"{{{ERRORS_NS}}}{local}"


def local_name(tag: str) -> str:
    """The local part of a Clark-notation tag."""
    return tag.rsplit("}", 1)[-1]
