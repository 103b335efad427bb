"""Request validation against Microsoft's EWS schema, as Exchange does before running an operation.

Exchange rejects a request whose body does not match messages.xsd/types.xsd with the SOAP fault
``ErrorSchemaValidation`` (its ``MessageXml`` names LineNumber, LinePosition and the Violation). Doing the same
here keeps hand-written or malformed requests from passing against the simulator and failing against Exchange.

The schema is compiled once by libxml2 from the files in ``xsd/``. types.xsd imports the ``xml`` namespace
without a location (IIS resolves it); the compiled copy points that import at the W3C ``xml.xsd`` kept beside
it. Nothing else in Microsoft's files is changed.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from functools import cache
from importlib import resources
from pathlib import Path

from lxml import etree

from ews_sim.soap import SoapFault

_XML_IMPORT = '<xs:import namespace="http://www.w3.org/XML/1998/namespace"/>'
_XML_IMPORT_LOCATED = '<xs:import namespace="http://www.w3.org/XML/1998/namespace" schemaLocation="xml.xsd"/>'
_lock = threading.Lock()
_compile_lock = threading.Lock()


def compiled() -> etree.XMLSchema:
    """messages.xsd (with types.xsd) compiled by lxml; built once, on first use.

    The first requests of a busy start arrive on many threads together, and libxml2 cannot compile a schema on
    several threads at once: one thread compiles, the others wait for its result.
    """
    with _compile_lock:
        return _compile()


@cache
def _compile() -> etree.XMLSchema:
    source = resources.files("ews_sim").joinpath("xsd")
    workdir = Path(tempfile.mkdtemp(prefix="ews-sim-xsd-"))
    try:
        for name in ("messages.xsd", "xml.xsd"):
            (workdir / name).write_bytes(source.joinpath(name).read_bytes())
        types = source.joinpath("types.xsd").read_text(encoding="utf-8-sig")
        (workdir / "types.xsd").write_text(types.replace(_XML_IMPORT, _XML_IMPORT_LOCATED), encoding="utf-8")
        return etree.XMLSchema(etree.parse(str(workdir / "messages.xsd")))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def validate_payload(payload: etree._Element) -> None:
    """Raise the ``ErrorSchemaValidation`` fault Exchange sends if the operation element is not schema-valid.

    The element is validated where it is (lxml validates a subtree in place): copying it into a document of its
    own first cost a third of the validation. Only an invalid request is copied, so that the line and column the
    fault names stay those of the operation element serialised alone, as before.
    """
    schema = compiled()
    with _lock:  # an XMLSchema object keeps its error log; validate one document at a time
        if schema.validate(payload):
            return
    doc = etree.fromstring(etree.tostring(payload))
    with _lock:
        if schema.validate(doc):
            return
        error = schema.error_log.last_error
    violation = error.message if error is not None else "The request is not valid."
    raise SoapFault(
        "ErrorSchemaValidation",
        f"The request failed schema validation: {violation}",
        details={
            "LineNumber": str(error.line if error is not None else 0),
            "LinePosition": str(error.column if error is not None else 0),
            "Violation": violation,
        },
    )
