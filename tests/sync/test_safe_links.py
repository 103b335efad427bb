"""Given a TrueConf link rewritten by Microsoft Defender Safe Links, the event is still linked to its conference."""

from urllib.parse import quote

import pytest

from tc_calendar.model import ConferenceLink
from tc_calendar.sync.links import LinkFinder, unwrap_safe_links

finder = LinkFinder()
LINK = "https://video.example.com/c/5576502892"
CONFERENCE = ConferenceLink("5576502892", LINK, "video.example.com")
DATA = "05%7C02%7Canna%40example.com%7C1a2b3c%7C72f988bf86f141af91ab2d7cd011db47%7C1%7C0%7C638712345678901234"


def safe_link(url: str, host: str = "nam12.safelinks.protection.outlook.com") -> str:
    return f"https://{host}/?url={quote(url, safe='')}&data={DATA}&reserved=0"


def test_a_safe_link_in_a_plain_text_invitation_gives_the_conference_it_wraps() -> None:
    text = f"Join the meeting: {safe_link(LINK)}\nSee you there"
    assert finder.find([text]) == CONFERENCE


def test_a_safe_link_in_an_html_anchor_with_escaped_ampersands_gives_the_conference() -> None:
    href = safe_link(LINK + "?lang=en").replace("&", "&amp;")
    html = f'<p><a href="{href}" originalsrc="{LINK}">Join TrueConf meeting</a></p>'
    assert finder.find(["", html]) == CONFERENCE


def test_a_safe_link_in_the_location_gives_the_conference() -> None:
    assert finder.find([safe_link(LINK, "eur01.safelinks.protection.outlook.com")]) == CONFERENCE


def test_a_link_wrapped_twice_by_a_forwarded_invitation_is_unwrapped_twice() -> None:
    assert finder.find([f"Fwd: {safe_link(safe_link(LINK))}"]) == CONFERENCE


@pytest.mark.parametrize(
    "host",
    [
        "nam02.safelinks.protection.outlook.com",
        "GBR01.SafeLinks.Protection.Outlook.com",
        "safelinks.protection.outlook.com",
        "gcc02.safelinks.protection.office365.us",
    ],
)
def test_every_safe_links_region_is_unwrapped(host: str) -> None:
    assert unwrap_safe_links(safe_link(LINK, host)) == LINK


def test_a_safe_link_of_an_office_app_with_a_path_is_unwrapped() -> None:
    wrapped = f"https://eur02.safelinks.protection.outlook.com/ap/t-59584e83/?url={quote(LINK, safe='')}&data=x"
    assert unwrap_safe_links(f"[{wrapped}]") == f"[{LINK}]"


@pytest.mark.parametrize(
    "text",
    [
        "https://safelinks.protection.outlook.com.evil.example/?url=https%3A%2F%2Fvideo.example.com%2Fc%2F1",
        "https://evil.example/?next=safelinks.protection.outlook.com/?url=https%3A%2F%2Fvideo.example.com%2Fc%2F1",
        "https://nam12.safelinks.protection.outlook.com/?data=05%7C02&reserved=0",
        "Room 4, safelinks.protection.outlook.com is not a link here",
    ],
)
def test_look_alikes_and_safe_links_without_a_url_are_left_as_they_are(text: str) -> None:
    assert unwrap_safe_links(text) == text


def test_other_links_in_the_text_are_left_as_they_are() -> None:
    text = f"Agenda: https://intranet.example.com/agenda?a=1&b=2 then {safe_link(LINK)}."
    assert unwrap_safe_links(text) == f"Agenda: https://intranet.example.com/agenda?a=1&b=2 then {LINK}."


def test_a_safe_link_to_something_else_links_to_no_conference() -> None:
    assert finder.find([safe_link("https://intranet.example.com/c-is-not-a-conference")]) is None
