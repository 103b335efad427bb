"""SOAP 1.1 envelopes as Exchange 2016 writes and reads them.

Parsing pulls out what the server acts on before dispatch (the operation, ``RequestServerVersion``,
``ExchangeImpersonation``, ``TimeZoneContext``). Serialising wraps every response body in an envelope whose
header carries ``ServerVersionInfo`` -- clients (exchangelib among them) read the server build from it on every
response. Errors exist in two shapes, as in Exchange: per-item ``ResponseMessage`` errors (:class:`EwsError`) and
whole-request SOAP faults (:class:`SoapFault`, sent with HTTP 500).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from lxml import etree

from ews_sim.xml_names import ERRORS_NS, MESSAGES_NS, SOAP_NS, TYPES_NS, XSI_NS, local_name, m, s, t

# What Exchange 2016 CU23 (build 15.1.2507.x) puts in every response header. exchangelib maps 15.1 to
# "Microsoft Exchange Server 2016"; the "V2017_07_11" schema version is what the CU23 server reports.
SERVER_VERSION = {
    "MajorVersion": "15",
    "MinorVersion": "1",
    "MajorBuildNumber": "2507",
    "MinorBuildNumber": "39",
    "Version": "V2017_07_11",
}

# ExchangeVersionType from types.xsd as shipped with Exchange 2016: the values a request may name.
KNOWN_REQUEST_VERSIONS = frozenset(
    {
        "Exchange2007",
        "Exchange2007_SP1",
        "Exchange2009",
        "Exchange2010",
        "Exchange2010_SP1",
        "Exchange2010_SP2",
        "Exchange2012",
        "Exchange2013",
        "Exchange2013_SP1",
        "Exchange2015",
        "Exchange2016",
        "V2015_10_05",
        "V2016_01_06",
        "V2016_04_13",
        "V2016_07_13",
        "V2016_10_10",
        "V2017_01_07",
        "V2017_04_14",
        "V2017_07_11",
    }
)

_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry (control characters a mailbox may still hold)."""
    return _XML_INVALID.sub("", text)


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)


class EwsError(Exception):
    """An EWS response code for one request item (``ResponseClass="Error"`` in its response message).

    ``values`` become ``<t:Value Name=...>`` children of ``MessageXml`` -- Exchange uses them for e.g.
    ``BackOffMilliseconds`` on ``ErrorServerBusy``.
    """

    def __init__(self, code: str, text: str | None = None, *, values: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{code}: {text or ''}")
        self.code = code
        self.text = text or code
        self.values = dict(values or {})


class SoapFault(Exception):
    """A failure of the whole request, sent as a SOAP fault with HTTP 500 (as Exchange does).

    ``values`` become ``<t:Value Name=...>`` children of ``MessageXml`` (BackOffMilliseconds); ``details``
    become elements named after their keys (LineNumber, LinePosition, Violation of ErrorSchemaValidation).
    """

    def __init__(
        self,
        code: str,
        text: str,
        *,
        values: Mapping[str, str] | None = None,
        details: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text
        self.values = dict(values or {})
        self.details = dict(details or {})


@dataclass(frozen=True)
class Impersonation:
    """The ``ExchangeImpersonation/ConnectingSID`` the caller asked to act as."""

    kind: str  # PrimarySmtpAddress, SmtpAddress, PrincipalName or SID
    value: str


@dataclass
class SoapRequest:
    """One parsed EWS request."""

    operation: str
    payload: etree._Element
    requested_version: str | None = None
    impersonation: Impersonation | None = None
    timezone_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def parse_request(data: bytes) -> SoapRequest:
    """Parse a SOAP 1.1 request body.

    Raises :class:`SoapFault` ``ErrorSchemaValidation`` for anything that is not a SOAP envelope with one
    operation element in the messages namespace, as Exchange rejects such requests before dispatch.
    """
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise SoapFault("ErrorSchemaValidation", f"The request failed schema validation: {exc}") from exc
    if root.tag != s("Envelope"):
        raise SoapFault("ErrorSchemaValidation", "The request failed schema validation: root is not soap:Envelope")
    body = root.find(s("Body"))
    if body is None or len(body) != 1:
        raise SoapFault("ErrorSchemaValidation", "The request failed schema validation: Body must hold one element")
    payload = body[0]
    if etree.QName(payload).namespace != MESSAGES_NS:
        raise SoapFault("ErrorSchemaValidation", f"The request failed schema validation: unexpected {payload.tag}")
    request = SoapRequest(operation=local_name(payload.tag), payload=payload)
    header = root.find(s("Header"))
    if header is not None:
        _read_header(header, request)
    return request


def _read_header(header: etree._Element, request: SoapRequest) -> None:
    version = header.find(t("RequestServerVersion"))
    if version is not None:
        request.requested_version = version.get("Version")
        if request.requested_version not in KNOWN_REQUEST_VERSIONS:
            # Exchange checks the attribute against ExchangeVersionType during schema validation.
            raise SoapFault("ErrorInvalidServerVersion", "The specified server version is invalid.")
    impersonation = header.find(f"{t('ExchangeImpersonation')}/{t('ConnectingSID')}")
    if impersonation is not None and len(impersonation):
        child = impersonation[0]
        request.impersonation = Impersonation(kind=local_name(child.tag), value=(child.text or "").strip())
    tz = header.find(f"{t('TimeZoneContext')}/{t('TimeZoneDefinition')}")
    if tz is not None:
        request.timezone_id = tz.get("Id")


def _server_version_header() -> etree._Element:
    header = etree.Element(s("Header"), nsmap={"s": SOAP_NS})
    info = etree.SubElement(header, f"{{{TYPES_NS}}}ServerVersionInfo", nsmap={"h": TYPES_NS})
    for name, value in SERVER_VERSION.items():
        info.set(name, value)
    return header


def envelope(body_child: etree._Element, *, with_header: bool = True) -> bytes:
    """Serialise one response element inside a SOAP envelope (with ``ServerVersionInfo`` in the header).

    The envelope around the element is the same in every response: it is serialised once, and only the element
    is serialised per response (it declares every namespace it uses, so it reads the same on its own).
    """
    head, tail = _envelope_parts(with_header)
    return head + bytes(etree.tostring(body_child, encoding="utf-8", xml_declaration=False)) + tail


_MARKER = b"<ews-sim-body/>"


@cache
def _envelope_parts(with_header: bool) -> tuple[bytes, bytes]:
    """The bytes of an envelope before and after its body's element."""
    head, tail = _envelope_tree(etree.Element(_MARKER[1:-2].decode()), with_header=with_header).split(_MARKER)
    return head, tail


def _envelope_tree(body_child: etree._Element, *, with_header: bool = True) -> bytes:
    """An envelope serialised whole, with ``body_child`` in its body."""
    root = etree.Element(s("Envelope"), nsmap={"s": SOAP_NS})
    if with_header:
        root.append(_server_version_header())
    body = etree.SubElement(root, s("Body"), nsmap={"xsi": XSI_NS, "xsd": "http://www.w3.org/2001/XMLSchema"})
    body.append(body_child)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def fault_envelope(fault: SoapFault) -> bytes:
    """Serialise a SOAP fault the way Exchange does.

    The fault code is qualified with the types namespace (``a:ErrorServerBusy``); the ``detail`` element is
    unqualified and holds ``e:ResponseCode`` / ``e:Message`` in the errors namespace and ``t:MessageXml`` in
    the types namespace (exchangelib reads exactly these names, e.g. ``BackOffMilliseconds``).
    """
    root = etree.Element(s("Envelope"), nsmap={"s": SOAP_NS})
    body = etree.SubElement(root, s("Body"))
    fault_el = etree.SubElement(body, s("Fault"))
    code = etree.SubElement(fault_el, "faultcode", nsmap={"a": TYPES_NS})
    code.text = f"a:{fault.code}"
    string = etree.SubElement(fault_el, "faultstring")
    string.set("{http://www.w3.org/XML/1998/namespace}lang", "en-US")
    string.text = fault.text
    detail = etree.SubElement(fault_el, "detail")
    etree.SubElement(detail, f"{{{ERRORS_NS}}}ResponseCode", nsmap={"e": ERRORS_NS}).text = fault.code
    etree.SubElement(detail, f"{{{ERRORS_NS}}}Message", nsmap={"e": ERRORS_NS}).text = fault.text
    if fault.values or fault.details:
        xml = etree.SubElement(detail, t("MessageXml"), nsmap={"t": TYPES_NS})
        for name, value in fault.details.items():
            etree.SubElement(xml, t(name)).text = xml_safe(value)
        for name, value in fault.values.items():
            v = etree.SubElement(xml, t("Value"))
            v.set("Name", name)
            v.text = value
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def response_root(operation: str) -> tuple[etree._Element, etree._Element]:
    """Create ``m:<Operation>Response`` with its ``m:ResponseMessages``; returns both."""
    root = etree.Element(m(f"{operation}Response"), nsmap={"m": MESSAGES_NS, "t": TYPES_NS})
    messages = etree.SubElement(root, m("ResponseMessages"))
    return root, messages


def success_message(parent: etree._Element, operation: str, *, warning: EwsError | None = None) -> etree._Element:
    """Append a ``ResponseMessage`` with ``ResponseClass="Success"`` and ``NoError`` (or a warning)."""
    msg = etree.SubElement(parent, m(f"{operation}ResponseMessage"))
    if warning is None:
        msg.set("ResponseClass", "Success")
        etree.SubElement(msg, m("ResponseCode")).text = "NoError"
        return msg
    msg.set("ResponseClass", "Warning")
    etree.SubElement(msg, m("MessageText")).text = warning.text
    etree.SubElement(msg, m("ResponseCode")).text = warning.code
    etree.SubElement(msg, m("DescriptiveLinkKey")).text = "0"
    return msg


#: Response messages whose type requires a container even on error (ItemInfoResponseMessageType's ``Items``);
#: Exchange sends it empty, e.g. ``<m:Items />`` after ErrorItemNotFound.
_REQUIRED_ON_ERROR = {"GetItem": "Items", "CreateItem": "Items"}


def error_message(parent: etree._Element, operation: str, error: EwsError) -> etree._Element:
    """Append a ``ResponseMessage`` with ``ResponseClass="Error"`` in schema order
    (MessageText, ResponseCode, DescriptiveLinkKey, MessageXml, then any container the type requires)."""
    msg = etree.SubElement(parent, m(f"{operation}ResponseMessage"))
    msg.set("ResponseClass", "Error")
    etree.SubElement(msg, m("MessageText")).text = error.text
    etree.SubElement(msg, m("ResponseCode")).text = error.code
    etree.SubElement(msg, m("DescriptiveLinkKey")).text = "0"
    if error.values:
        xml = etree.SubElement(msg, m("MessageXml"))
        for name, value in error.values.items():
            v = etree.SubElement(xml, t("Value"))
            v.set("Name", name)
            v.text = value
    required = _REQUIRED_ON_ERROR.get(operation)
    if required is not None:
        etree.SubElement(msg, m(required))
    return msg


def text_of(elem: etree._Element | None, path: str | None = None) -> str | None:
    """Stripped text of ``elem`` (or of its descendant at ``path``), None when absent."""
    if elem is not None and path is not None:
        elem = elem.find(path)
    if elem is None or elem.text is None:
        return None
    return str(elem.text).strip()


def children(elem: etree._Element | None) -> list[etree._Element]:
    """Element children of ``elem`` (comments skipped), empty when ``elem`` is None."""
    if elem is None:
        return []
    return [c for c in elem if isinstance(c.tag, str)]
