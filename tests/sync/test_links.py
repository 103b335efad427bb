"""An event is linked to a TrueConf conference when its location or description names one."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tc_calendar.errors import ConfigError
from tc_calendar.model import ConferenceLink
from tc_calendar.sync.links import LinkFinder, compile_rule

finder = LinkFinder()


V = "video.example.com"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"https://{V}/c/5576502892", ConferenceLink("5576502892", f"https://{V}/c/5576502892", V)),
        (f"Join: https://{V}/webrtc/team_sync.", ConferenceLink("team_sync", f"https://{V}/c/team_sync", V)),
        (
            "http://192.168.6.1:8888/c/561849261795?lang=en",
            ConferenceLink("561849261795", "http://192.168.6.1:8888/c/561849261795", "192.168.6.1:8888"),
        ),
        (
            '<a href="HTTPS://tcs.corp.local/c/0048411003/">join</a>',
            ConferenceLink("0048411003", "https://tcs.corp.local/c/0048411003", "tcs.corp.local"),
        ),
        ("(https://tcs/c/abc)", ConferenceLink("abc", "https://tcs/c/abc", "tcs")),
        (
            "call \\c\\5576502892@server.trueconf.name#vcs now",
            ConferenceLink("5576502892", "https://server.trueconf.name/c/5576502892", "server.trueconf.name"),
        ),
        ("\\c\\Board_2026", ConferenceLink("Board_2026", "\\c\\Board_2026", None)),
        (f"trueconf:\\c\\5576502892@{V}", ConferenceLink("5576502892", f"https://{V}/c/5576502892", V)),
        ("trueconf:c/5576502892", ConferenceLink("5576502892", "trueconf:c/5576502892", None)),
        (
            f"TrueConf://c/5576502892@{V}:4443",
            ConferenceLink("5576502892", f"https://{V}:4443/c/5576502892", f"{V}:4443"),
        ),
        ("trueconf:%5Cc%5C42@tcs.org%23vcs", ConferenceLink("42", "https://tcs.org/c/42", "tcs.org")),
        (
            "https://[2001:db8::1]:8443/c/42",
            ConferenceLink("42", "https://[2001:db8::1]:8443/c/42", "[2001:db8::1]:8443"),
        ),
    ],
)
def test_every_public_form_of_a_conference_address_is_found(text: str, expected: ConferenceLink) -> None:
    assert finder.find([text]) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Room 42, 3rd floor",
        "https://video.example.com/conference/5576502892",
        "https://video.example.com/c/",
        "https://video.example.com/c/" + "1" * 129,
        "https://video.example.com/c/55765-02892",
        "https://video.example.com/c/caf\u00e9",
        "https://video.example.com:99999/c/42",
        "https://video.example.com/tools/real-time/42",
        "http://evil.example.com/redirect?to=https://x/y/c",
        "C:\\c\\temp",
        "\\\\share\\c\\folder",
        "trueconf:smith@conf.company.com",
        "nottrueconf:c/42",
        "mytrueconf.example.com/c/",
        "the ID is 561849261795@some.server#vcs",
    ],
)
def test_texts_that_do_not_name_a_conference_link_nothing(text: str) -> None:
    assert finder.find([text]) is None


def test_the_location_wins_over_the_description_and_the_earliest_mention_wins_within_a_text() -> None:
    location = "Conference room / https://a.example.com/c/first"
    body = "Backup: \\c\\second then https://b.example.com/c/third"
    assert finder.find([location, body]) == ConferenceLink("first", "https://a.example.com/c/first", "a.example.com")
    assert finder.find(["", body]) == ConferenceLink("second", "\\c\\second", None)


def test_a_default_server_makes_bare_call_strings_joinable() -> None:
    found = LinkFinder(default_server="tcs.corp.local").find(["\\c\\weekly"])
    assert found == ConferenceLink("weekly", "https://tcs.corp.local/c/weekly", "tcs.corp.local")


def test_custom_rules_extract_the_id_group_and_optional_server() -> None:
    rule = compile_rule("linkRules[0]", r"Meeting ID: (?P<id>\d+) on (?P<server>[\w.]+)")
    found = LinkFinder([rule]).find(["Meeting ID: 123456 on tcs.example.org"])
    assert found == ConferenceLink("123456", "https://tcs.example.org/c/123456", "tcs.example.org")


def test_a_custom_rule_whose_id_is_not_a_conference_id_is_skipped() -> None:
    rule = compile_rule("linkRules[0]", r"ID: (?P<id>\S+)")
    assert LinkFinder([rule]).find(["ID: a-b ID: ok_1"]) == ConferenceLink("ok_1", "ID: ok_1", None)


def test_custom_rules_without_an_id_group_or_invalid_are_refused_with_the_rule_name() -> None:
    with pytest.raises(ConfigError, match=r"linkRules\[1\].*named group 'id'"):
        compile_rule("linkRules[1]", r"https://x/c/\d+")
    with pytest.raises(ConfigError, match=r"linkRules\[2\].*not a valid regular expression"):
        compile_rule("linkRules[2]", r"(?P<id>")


conference_ids = st.text(st.sampled_from("0123456789abcXYZ_"), min_size=1, max_size=128)
hosts = st.from_regex(r"\A[a-z][a-z0-9-]{0,10}[a-z0-9](\.[a-z]{2,6}){0,3}\Z")
surroundings = st.sampled_from(["", " ", "\n", "Join: ", "(", "<", '"', "text "])
endings = st.sampled_from(["", " ", ".", ",", ")", ">", '"', "\n", "/", "?x=1", "#top", ". Next"])


@settings(deadline=None)
@given(conference_ids, hosts, surroundings, endings, st.sampled_from(["c", "webrtc"]))
def test_any_web_link_yields_its_id_and_server(cid: str, host: str, before: str, after: str, path: str) -> None:
    found = LinkFinder().find([f"{before}https://{host}/{path}/{cid}{after}"])
    assert found == ConferenceLink(cid, f"https://{host}/c/{cid}", host)


@settings(deadline=None)
@given(conference_ids, hosts, surroundings, endings)
def test_any_call_string_yields_its_id_and_server(cid: str, host: str, before: str, after: str) -> None:
    found = LinkFinder().find([f"{before}\\c\\{cid}@{host}#vcs{after}"])
    assert found == ConferenceLink(cid, f"https://{host}/c/{cid}", host)


@settings(deadline=None)
@given(st.text(st.sampled_from("0123456789abcXYZ_"), min_size=129, max_size=300), hosts)
def test_an_over_long_id_is_never_cut_to_a_shorter_one(cid: str, host: str) -> None:
    assert LinkFinder().find([f"https://{host}/c/{cid}", f"\\c\\{cid}", f"trueconf:c/{cid}"]) is None
