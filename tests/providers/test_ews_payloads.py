"""The request bodies a sync sends for every mailbox are written directly, and say what exchangelib would say.

Each body is compared element by element (names, attributes, text, order) with the one exchangelib builds from
its objects for the same request; namespace prefixes may sit on other elements, which changes nothing in XML.
"""

from datetime import UTC, datetime
from typing import Any

import pytest
from exchangelib import EWSDateTime
from exchangelib.items import ID_ONLY
from exchangelib.properties import CalendarView
from exchangelib.services import FindItem, SubscribeToStreaming, SyncFolderItems
from exchangelib.services.common import folder_ids_element, item_ids_element
from exchangelib.util import create_element

from tc_calendar.providers import ews_mapping, ews_payloads
from tc_calendar.providers._ews_session import EndpointSettings, ServiceAccount

MAILBOX = "anna.berg@corp.example"


def shape_of(element: Any) -> tuple[Any, ...]:
    return (
        element.tag,
        dict(element.attrib),
        (element.text or "").strip(),
        tuple(shape_of(child) for child in element),
    )


@pytest.fixture
def account() -> Any:
    service_account = ServiceAccount(
        EndpointSettings("https://ews.corp.test/EWS/Exchange.asmx", auth="basic", server_version="Exchange2016"),
        "svc",
        "pw",
    )
    yield service_account
    service_account.close()


def exchangelib_shape(field_uris: tuple[str, ...]) -> Any:
    shape = create_element("m:ItemShape")
    base = create_element("t:BaseShape")
    base.text = ID_ONLY
    shape.append(base)
    if field_uris:
        properties = create_element("t:AdditionalProperties")
        for uri in field_uris:
            properties.append(create_element("t:FieldURI", attrs={"FieldURI": uri}))
        shape.append(properties)
    return shape


def test_get_item_names_each_item_by_id_and_change_key(account: ServiceAccount) -> None:
    ids = [("AAMkAD1", "CQAAAB1"), ("AAMkAD2", None)]
    mine = ews_payloads.get_item(ews_payloads.item_shape(ews_mapping.FETCH_FIELD_URIS), ids)

    theirs = create_element("m:GetItem")
    theirs.append(exchangelib_shape(ews_mapping.FETCH_FIELD_URIS))
    theirs.append(item_ids_element(items=ids, version=account.account(MAILBOX).version))
    assert shape_of(mine) == shape_of(theirs)


def test_find_item_asks_the_calendar_view_of_the_mailboxs_calendar(account: ServiceAccount) -> None:
    start, end = datetime(2026, 6, 1, tzinfo=UTC), datetime(2028, 6, 1, 7, 30, 15, 250000, tzinfo=UTC)
    mine = ews_payloads.find_in_calendar_view(
        ews_payloads.item_shape(ews_mapping.VIEW_FIELD_URIS), MAILBOX, start, end, 1000
    )

    version = account.account(MAILBOX).version
    view = CalendarView(start=EWSDateTime.from_datetime(start), end=EWSDateTime.from_datetime(end), max_items=1000)
    theirs = create_element(f"m:{FindItem.SERVICE_NAME}", attrs={"Traversal": "Shallow"})
    theirs.append(exchangelib_shape(ews_mapping.VIEW_FIELD_URIS))
    theirs.append(view.to_xml(version=version))
    theirs.append(folder_ids_element(folders=[account.calendar(MAILBOX)], version=version, tag="m:ParentFolderIds"))
    assert shape_of(mine) == shape_of(theirs)


@pytest.mark.parametrize("sync_state", [None, "H4sIAAAAAAAEAGNgYGcAAoEiBhYhBiYBBg=="])
def test_sync_folder_items_continues_from_the_sync_state_with_ids_only(
    account: ServiceAccount, sync_state: str | None
) -> None:
    mine = ews_payloads.sync_folder_items(MAILBOX, sync_state, 512)

    theirs = SyncFolderItems(account=account.account(MAILBOX)).get_payload(
        folder=account.calendar(MAILBOX),
        shape=ID_ONLY,
        additional_fields=None,
        sync_state=sync_state,
        ignore=None,
        max_changes_returned=512,
        sync_scope=None,
    )
    assert shape_of(mine) == shape_of(theirs)


def test_subscribe_asks_streaming_notifications_of_every_kind_for_the_calendar(account: ServiceAccount) -> None:
    mine = ews_payloads.subscribe_streaming(MAILBOX)

    theirs = SubscribeToStreaming(account=account.account(MAILBOX)).get_payload(
        folders=[account.calendar(MAILBOX)], event_types=SubscribeToStreaming.EVENT_TYPES
    )
    assert shape_of(mine) == shape_of(theirs)
