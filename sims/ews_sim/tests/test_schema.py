"""Conformance: every response the simulator sends validates against Microsoft's published EWS schema
(types.xsd/messages.xsd of Exchange 2016, see src/ews_sim/xsd/ORIGIN.md), compiled by lxml.

The responses come from real exchangelib sessions that exercise each operation; the SOAP envelope itself is not
part of the EWS schema, so the header's ServerVersionInfo and the body's response element are validated.
SOAP faults are checked for the shape exchangelib and the EWS Managed API parse.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import xmlschema
from ews_harness import ALICE, BOB
from exchangelib import Account, Attendee, CalendarItem, EWSDateTime, EWSTimeZone, Mailbox
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY
from exchangelib.recurrence import Recurrence, WeeklyPattern
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

import ews_sim
from ews_sim.server import EwsSimulator
from ews_sim.world import World

XSD_DIR = Path(ews_sim.__file__).parent / "xsd"
SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"
TYPES = "{http://schemas.microsoft.com/exchange/services/2006/types}"
ERRORS = "{http://schemas.microsoft.com/exchange/services/2006/errors}"
BERLIN = EWSTimeZone("Europe/Berlin")


class EwsSchema:
    """Microsoft's messages.xsd/types.xsd compiled by libxml2 (lxml): fast enough to validate every response.

    types.xsd imports the ``xml`` namespace without a location (Exchange's IIS resolves it); the copy compiled
    here points that import at the W3C ``xml.xsd`` shipped with xmlschema. Nothing else is changed.
    """

    def __init__(self, workdir: Path) -> None:
        shutil.copy(Path(xmlschema.__file__).parent / "schemas" / "XML" / "xml.xsd", workdir / "xml.xsd")
        types = (XSD_DIR / "types.xsd").read_text(encoding="utf-8-sig")
        located = types.replace(
            '<xs:import namespace="http://www.w3.org/XML/1998/namespace"/>',
            '<xs:import namespace="http://www.w3.org/XML/1998/namespace" schemaLocation="xml.xsd"/>',
        )
        assert located != types
        (workdir / "types.xsd").write_text(located, encoding="utf-8")
        shutil.copy(XSD_DIR / "messages.xsd", workdir / "messages.xsd")
        self._schema = etree.XMLSchema(etree.parse(str(workdir / "messages.xsd")))

    def validate(self, xml: str | bytes | etree._Element) -> None:
        doc = etree.fromstring(xml) if isinstance(xml, str | bytes) else xml
        if not self._schema.validate(doc):
            raise SchemaViolation(str(self._schema.error_log))


class SchemaViolation(AssertionError):
    """A response does not validate against the EWS schema."""


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> EwsSchema:
    return EwsSchema(tmp_path_factory.mktemp("ews-xsd"))


def _validate(schema: EwsSchema, body: bytes) -> str | None:
    """The response element's name, after validating; None for a SOAP fault (checked separately)."""
    root = etree.fromstring(body)
    fault = root.find(f"{SOAP}Body/{SOAP}Fault")
    if fault is not None:
        assert fault.findtext("faultcode", "").startswith("a:Error")
        assert fault.find(f"detail/{ERRORS}ResponseCode") is not None
        return None
    info = root.find(f"{SOAP}Header/{TYPES}ServerVersionInfo")
    assert info is not None
    schema.validate(etree.fromstring(etree.tostring(info)))
    (response,) = root.find(f"{SOAP}Body")
    schema.validate(etree.fromstring(etree.tostring(response)))
    return etree.QName(response).localname


def _exercise(ews_account: Callable[..., Account], ews_world: World) -> None:
    alice, bob = ews_account(ALICE), ews_account(BOB)
    start = EWSDateTime.now(BERLIN).replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=1)
    sub_id, watermark = alice.calendar.subscribe_to_pull()
    stream_id = bob.calendar.subscribe_to_streaming()
    meeting = CalendarItem(
        account=alice,
        folder=alice.calendar,
        subject="Schema",
        start=start,
        end=start + timedelta(hours=1),
        body="Body text",
        location="Room",
        categories=["Blue"],
        required_attendees=[Attendee(mailbox=Mailbox(email_address=BOB), response_type="Unknown")],
        optional_attendees=[Attendee(mailbox=Mailbox(email_address="ext@outside.test"), response_type="Unknown")],
        recurrence=Recurrence(
            pattern=WeeklyPattern(interval=1, weekdays=[start.isoweekday()]), start=start.date(), number=4
        ),
    )
    meeting.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    window = (start - timedelta(days=1), start + timedelta(days=30))
    bob_items = list(bob.calendar.view(*window))
    bob.calendar.get(id=bob_items[0].id).accept()
    occurrence = alice.calendar.get(id=meeting.id).occurrence(index=2)
    occurrence.refresh()
    occurrence.subject = "Schema (moved)"
    occurrence.start, occurrence.end = occurrence.start + timedelta(hours=1), occurrence.end + timedelta(hours=1)
    occurrence.save(update_fields=["subject", "start", "end"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    alice.calendar.get(id=meeting.id).occurrence(index=3).delete(send_meeting_cancellations=SEND_TO_ALL_AND_SAVE_COPY)
    master = alice.calendar.get(id=meeting.id)
    assert master.modified_occurrences and master.deleted_occurrences
    list(alice.calendar.view(*window, max_items=2))
    qs = alice.calendar.all()
    qs.page_size = 1
    list(qs)
    list(alice.calendar.sync_items(max_changes_returned=1))
    list(alice.calendar.get_events(sub_id, watermark))
    list(bob.calendar.get_streaming_events(stream_id, connection_timeout=1))
    alice.calendar.unsubscribe(sub_id)
    alice.calendar.get(id=meeting.id).cancel()
    # Error responses validate too.
    ews_world.gate.server_busy(count=1, backoff_ms=10)
    with pytest.raises(Exception):  # noqa: B017 - ErrorServerBusy, the fault shape is checked above
        list(alice.calendar.all())
    with pytest.raises(Exception):  # noqa: B017 - ErrorItemNotFound
        alice.calendar.get(id=meeting.id)


def test_responses_validate_against_the_ews_schema(
    schema: EwsSchema, ews_server: EwsSimulator, ews_account: Callable[..., Account], ews_world: World
) -> None:
    bodies: list[bytes] = []
    ews_server.observers.append(bodies.append)
    _exercise(ews_account, ews_world)
    seen = {name for body in bodies if (name := _validate(schema, body)) is not None}
    assert {
        "GetFolderResponse",
        "FindItemResponse",
        "GetItemResponse",
        "CreateItemResponse",
        "UpdateItemResponse",
        "DeleteItemResponse",
        "SyncFolderItemsResponse",
        "SubscribeResponse",
        "GetEventsResponse",
        "GetStreamingEventsResponse",
        "UnsubscribeResponse",
    } <= seen


def test_schema_rejects_what_exchange_would_not_send(schema: EwsSchema) -> None:
    # Guards the check itself: an element out of schema order must fail validation.
    bad = (
        '<m:GetItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">'
        '<m:ResponseMessages><m:GetItemResponseMessage ResponseClass="Success">'
        "<m:Items/><m:ResponseCode>NoError</m:ResponseCode>"
        "</m:GetItemResponseMessage></m:ResponseMessages></m:GetItemResponse>"
    )
    with pytest.raises(SchemaViolation):
        schema.validate(bad)


def test_exchange_2007_shaped_responses_validate(schema: EwsSchema, ews_server: EwsSimulator, ews_world: World) -> None:
    from datetime import UTC, datetime

    from ews_harness import soap_call

    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    ews_world.create_appointment(ALICE, "Old client", start, start + timedelta(hours=1), time_zone="America/New_York")
    for version in ("Exchange2007_SP1", "Exchange2010_SP2", "Exchange2016"):
        status, body = soap_call(
            ews_server,
            '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape>'
            '<m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>',
            version=version,
        )
        assert status == 200
        assert _validate(schema, body) == "FindItemResponse"
    status, body = soap_call(
        ews_server,
        '<m:ConvertId DestinationFormat="EwsId"><m:SourceIds>'
        '<t:AlternateId Format="EwsId" Id="DUMMY" Mailbox="DUMMY"/></m:SourceIds></m:ConvertId>',
    )
    assert status == 200 and b"ErrorInvalidIdMalformed" in body
    assert _validate(schema, body) == "ConvertIdResponse"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    subject=st.text(max_size=40),
    location=st.text(max_size=20),
    body=st.text(max_size=60),
    all_day=st.booleans(),
    zone=st.sampled_from(["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC", "Australia/Lord_Howe"]),
    hours=st.integers(min_value=-200, max_value=2000),
)
def test_any_item_serialises_schema_valid(
    schema: EwsSchema,
    ews_server: EwsSimulator,
    ews_world: World,
    subject: str,
    location: str,
    body: str,
    all_day: bool,
    zone: str,
    hours: int,
) -> None:
    from datetime import UTC, datetime

    from ews_harness import soap_call

    from ews_sim.soap import xml_safe

    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=hours)
    if all_day:
        start = start.replace(hour=0)
    item = ews_world.create_meeting(
        ALICE,
        subject,
        start,
        start + timedelta(days=1 if all_day else 1 / 24),
        required=[BOB],
        location=location,
        body=body,
        all_day=all_day,
        time_zone=zone,
    )
    status, response = soap_call(
        ews_server,
        "<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape>"
        f'<m:ItemIds><t:ItemId Id="{item.item_id}"/></m:ItemIds></m:GetItem>',
    )
    assert status == 200
    assert _validate(schema, response) == "GetItemResponse"
    got = etree.fromstring(response).find(".//{*}CalendarItem/{*}Subject")
    assert got is not None and (got.text or "") == xml_safe(item.subject)


def test_the_demo_scenario_serves_schema_valid_and_exchangelib_readable(
    schema: EwsSchema,
) -> None:
    """Every mailbox of the demo: the calendar view of three weeks and every master, as raw XML through the schema
    and as objects through exchangelib -- the demo exercises every pattern, exceptions, cancellations and guests."""
    from datetime import UTC, datetime

    from ews_harness import exchangelib_account, soap_call

    from ews_sim.testing import running
    from ews_sim.world import DEMO_SCENARIO

    demo = json.loads(DEMO_SCENARIO.read_text(encoding="utf-8"))
    service = demo["service_accounts"][0]
    now = datetime.now(UTC).replace(microsecond=0)
    with running(scenario=DEMO_SCENARIO) as sim:
        for position, mailbox in enumerate(demo["mailboxes"]):
            smtp = mailbox["smtp"]
            status, body = soap_call(
                sim,
                '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape>'
                "</m:ItemShape>"
                f'<m:CalendarView StartDate="{(now - timedelta(days=7)).isoformat()}"'
                f' EndDate="{(now + timedelta(days=14)).isoformat()}"/>'
                '<m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>',
                mailbox=smtp,
                login=service["login"],
                password=service["password"],
            )
            assert status == 200
            assert _validate(schema, body) == "FindItemResponse"
            if position >= 3:
                continue  # exchangelib is slow; the first mailboxes organise most of the demo's series
            account = exchangelib_account(sim, smtp, login=service["login"], password=service["password"])
            masters = [i for i in account.calendar.all() if i.type == "RecurringMaster"]
            for master in masters:
                assert master.recurrence is not None
                status, body = soap_call(
                    sim,
                    "<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape>"
                    f'<m:ItemIds><t:ItemId Id="{master.id}"/></m:ItemIds></m:GetItem>',
                    mailbox=smtp,
                    login=service["login"],
                    password=service["password"],
                )
                assert _validate(schema, body) == "GetItemResponse"
            list(account.calendar.view(start=now - timedelta(days=7), end=now + timedelta(days=14)))
            account.protocol.close()


def test_requests_arriving_together_at_a_fresh_server_share_one_compiled_schema() -> None:
    """The first requests of a busy start arrive on many threads at once; libxml2 cannot compile a schema on
    several threads together, and a failed compile used to answer every request with ErrorInternalServerError."""
    import threading

    from ews_sim import schema

    schema._compile.cache_clear()
    start = threading.Barrier(8)
    got: list[object] = []

    def first_request() -> None:
        start.wait()
        try:
            got.append(schema.compiled())
        except Exception as exc:  # the failure is what the test reports
            got.append(exc)

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(got) == 8
    assert all(compiled is got[0] for compiled in got), got
