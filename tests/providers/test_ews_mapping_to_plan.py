"""From EWS XML to store actions, without a server: the seed's examples end to end through the sync core."""

from datetime import UTC, datetime

from lxml import etree

from tc_calendar.model import Attendee, ConferenceLink, OccurrenceKey, Response, Role
from tc_calendar.providers.ews_mapping import to_remote_item
from tc_calendar.sync.actions import PutOccurrence, SaveCheckpoint
from tc_calendar.sync.diff import plan_full_sync, plan_incremental, put_for, view_of
from tc_calendar.sync.links import LinkFinder
from tc_calendar.sync.normalize import normalize_changes, normalize_items
from tc_calendar.sync.window import window_at

NOW = datetime(2025, 6, 20, 12, tzinfo=UTC)
WINDOW = window_at(NOW, backward_months=1, forward_months=1)
LINKS = LinkFinder()


def calendar_item(
    *, my_response: str, subject: str = "Marketing department meeting", extra: str = ""
) -> etree._Element:
    """Seed 4.1's meeting, as GetItem returns it: Postman invites mail_test169, Saturday 28 June 2025 08:00-08:30
    Moscow time, with a TrueConf link that the add-in put into the body."""
    xml = f"""<t:CalendarItem xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
    <t:ItemId Id="AAMk-{my_response}" ChangeKey="DwAAAA1"/>
    <t:Subject>{subject}</t:Subject>
    <t:Body BodyType="HTML">&lt;html&gt;&lt;body&gt;&lt;p&gt;Discussion of the work done last week.&lt;/p&gt;
    &lt;p&gt;&lt;a href="https://video.corp.example/c/5576502892"&gt;Join TrueConf meeting&lt;/a&gt;&lt;/p&gt;
    &lt;/body&gt;&lt;/html&gt;</t:Body>
    <t:UID>040000008200E00074C5B7101A82E00800000000</t:UID>
    <t:Start>2025-06-28T05:00:00Z</t:Start>
    <t:End>2025-06-28T05:30:00Z</t:End>
    <t:IsAllDayEvent>false</t:IsAllDayEvent>
    <t:IsMeeting>true</t:IsMeeting>
    {extra}
    <t:CalendarItemType>Single</t:CalendarItemType>
    <t:MyResponseType>{my_response}</t:MyResponseType>
    <t:Organizer><t:Mailbox><t:Name>Postman</t:Name><t:EmailAddress>postman@corp.example</t:EmailAddress>
    </t:Mailbox></t:Organizer>
    <t:RequiredAttendees><t:Attendee><t:Mailbox><t:Name>mail_test169</t:Name>
    <t:EmailAddress>mail_test169@corp.example</t:EmailAddress></t:Mailbox>
    <t:ResponseType>NoResponseReceived</t:ResponseType></t:Attendee></t:RequiredAttendees>
    <t:StartTimeZone Id="Russian Standard Time"/>
    <t:EndTimeZone Id="Russian Standard Time"/>
    </t:CalendarItem>"""
    return etree.fromstring(xml.encode())


def test_given_the_seed_meeting_in_both_mailboxes_each_user_sees_the_same_event_with_their_answer() -> None:
    organizer = to_remote_item("postman@corp.example", calendar_item(my_response="Organizer"))
    attendee = to_remote_item("mail_test169@corp.example", calendar_item(my_response="Accept"))

    [mine] = normalize_items([organizer], WINDOW, LINKS)
    [theirs] = normalize_items([attendee], WINDOW, LINKS)

    assert mine.occurrence == theirs.occurrence
    event = mine.occurrence
    assert event.key == OccurrenceKey("040000008200E00074C5B7101A82E00800000000")
    assert (event.title, event.start, event.end) == (
        "Marketing department meeting",
        datetime(2025, 6, 28, 5, tzinfo=UTC),
        datetime(2025, 6, 28, 5, 30, tzinfo=UTC),
    )
    assert event.description == "Discussion of the work done last week.\nJoin TrueConf meeting"
    assert event.organizer == Attendee("postman@corp.example", "Postman", Role.ORGANIZER, Response.ORGANIZER)
    assert event.attendees == (Attendee("mail_test169@corp.example", "mail_test169", Role.REQUIRED),)
    assert event.conference == ConferenceLink(
        "5576502892", "https://video.corp.example/c/5576502892", "video.corp.example"
    )
    assert (mine.my_response, mine.from_organizer_copy) == (Response.ORGANIZER, True)
    assert (theirs.my_response, theirs.from_organizer_copy) == (Response.ACCEPTED, False)


def test_a_first_sync_of_the_attendee_puts_the_event_and_a_repeated_sync_does_nothing() -> None:
    attendee = to_remote_item("mail_test169@corp.example", calendar_item(my_response="Accept"))
    seen = normalize_items([attendee], WINDOW, LINKS)
    first = plan_full_sync("mail_test169@corp.example", seen, {}, sync_state="S1", window=WINDOW)
    assert [type(a) for a in first] == [PutOccurrence, SaveCheckpoint]
    put = first[0]
    assert isinstance(put, PutOccurrence)
    again = plan_full_sync(
        "mail_test169@corp.example", seen, {put.occurrence.key: view_of(put)}, sync_state="S2", window=WINDOW
    )
    assert [type(a) for a in again] == [SaveCheckpoint]


def test_when_the_organizer_cancels_the_attendee_sees_it_once_marked_canceled() -> None:
    attendee = to_remote_item("mail_test169@corp.example", calendar_item(my_response="Accept"))
    [before] = normalize_items([attendee], WINDOW, LINKS)
    stored = {before.occurrence.key: view_of(put_for(before))}
    cancelled = to_remote_item(
        "mail_test169@corp.example",
        calendar_item(
            my_response="Accept",
            subject="Canceled: Marketing department meeting",
            extra="<t:IsCancelled>true</t:IsCancelled>",
        ),
    )
    changes = normalize_changes([cancelled], WINDOW, LINKS)
    actions = plan_incremental(cancelled.mailbox, changes, [], stored, sync_state="S3", window=WINDOW)
    [put, _checkpoint] = actions
    assert isinstance(put, PutOccurrence)
    assert put.occurrence.cancelled
    assert put.occurrence.display_title == "Canceled: Marketing department meeting"
