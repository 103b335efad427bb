"""Finding the TrueConf conference an event points to.

What the TrueConf add-in for Outlook writes into an item is not public, so detection is by rules: regular
expressions with a named group ``id`` (the conference ID) and optionally ``server`` (host and port), applied to the
location and then the description. The default rules recognise every public form of a TrueConf conference address:

* conference and web-client pages ``http(s)://<server>[:port]/c/<id>`` and ``.../webrtc/<id>``;
* call strings ``\\c\\<id>`` and ``\\c\\<id>@<server>#vcs``;
* ``trueconf:`` URIs, e.g. ``trueconf:\\c\\<id>@<server>``, ``trueconf:c/<id>``, ``trueconf://c/<id>``.

A conference ID is 1 to 128 characters of ``[0-9A-Za-z_]``; a longer run is not an ID, so the rules require that
the ID is not followed by another ID character.

Microsoft Defender for Office 365 rewrites the links of mail and meeting invitations it delivers into Safe Links,
``https://<region>.safelinks.protection.outlook.com/?url=<the link, percent-encoded>&data=...&reserved=0``, so in
Exchange Online a TrueConf link often reaches us wrapped. Every text is unwrapped before the rules read it, for
every provider (an on-premises mailbox may hold an invitation forwarded from the cloud).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from tc_calendar.errors import ConfigError
from tc_calendar.model import ConferenceLink

_CONFERENCE_ID = re.compile(r"[0-9A-Za-z_]{1,128}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\])"
_SERVER = rf"(?P<server>{_HOST}(?::[0-9]{{1,5}})?)"
_ID = r"(?P<id>[0-9A-Za-z_]{1,128})(?![0-9A-Za-z_])"
# Something that can follow a link in running text or markup: a path, query or fragment, a quote or bracket, a
# sentence's punctuation, whitespace, or the end.
_END = r"(?=[/?#\s\"'<>()\[\]{},;!|&]|[.:](?![0-9A-Za-z_])|$)"
# Safe Links hosts: <region>.safelinks.protection.outlook.com, and office365.us in the US Government clouds. The
# host must end right there (no ".evil.example" after it); the link runs to the next space, quote or angle
# bracket, without the punctuation of the sentence around it (a Safe Link ends with reserved=0).
_SAFE_LINK = re.compile(
    r"(?i:https?)://(?:[A-Za-z0-9-]+\.)*(?i:safelinks\.protection\.(?:outlook\.com|office365\.us))"
    r"(?::[0-9]{1,5})?/[^\s\"'<>]*[^\s\"'<>.,;:!?)\]}]"
)
_MAX_SAFE_LINK_NESTING = 3


def unwrap_safe_links(text: str) -> str:
    """``text`` with every Safe Link replaced by the link it wraps; other text, and a Safe Link without a ``url``
    parameter, stay as they are. A link wrapped twice (a forwarded invitation) is unwrapped twice."""
    for _ in range(_MAX_SAFE_LINK_NESTING):
        if "safelinks.protection." not in text.lower():
            break
        unwrapped = _SAFE_LINK.sub(_wrapped_link, text)
        if unwrapped == text:
            break
        text = unwrapped
    return text


def _wrapped_link(found: re.Match[str]) -> str:
    # In an HTML body the query's "&" is written "&amp;"; the wrapped link itself is percent-encoded, so it
    # contains no "&" of its own and decoding the query gives it back exactly.
    query = urlsplit(found.group(0).replace("&amp;", "&")).query
    values = parse_qs(query).get("url")
    return values[0] if values and values[0].strip() else found.group(0)


@dataclass(frozen=True, slots=True)
class LinkRule:
    """One detection rule; ``name`` appears in error messages and logs."""

    name: str
    pattern: re.Pattern[str]


def compile_rule(name: str, pattern: str) -> LinkRule:
    """A rule from configuration; refuses expressions that do not compile or lack the ``id`` group."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"not a valid regular expression: {exc}", key_path=name) from exc
    if "id" not in compiled.groupindex:
        raise ConfigError(
            "the regular expression needs a named group 'id' that captures the conference ID, e.g. (?P<id>\\w+)",
            key_path=name,
        )
    return LinkRule(name, compiled)


DEFAULT_RULES: tuple[LinkRule, ...] = (
    LinkRule(
        "trueconf-web-link",
        re.compile(rf"(?<![\w.+-])(?P<scheme>(?i:https?))://{_SERVER}/(?:c|webrtc)/{_ID}{_END}"),
    ),
    LinkRule(
        "trueconf-uri",
        re.compile(
            rf"(?<![\w.+-])(?i:trueconf):(?://)?(?:\\c\\|%5[Cc]c%5[Cc]|c/)"
            rf"{_ID}(?:@{_SERVER})?(?:#vcs|%23vcs)?{_END}"
        ),
    ),
    LinkRule("trueconf-call-string", re.compile(rf"(?<![\w\\:])\\c\\{_ID}(?:@{_SERVER})?(?:#vcs)?{_END}")),
)


@dataclass(frozen=True, slots=True)
class _Match:
    start: int
    order: int
    link: ConferenceLink


class LinkFinder:
    """Applies the rules to an event's texts and returns the first conference found.

    ``default_server`` (host[:port] of the organisation's TrueConf Server) completes addresses that carry no
    server, such as ``\\c\\<id>``, into a joinable ``https://<server>/c/<id>`` link; without it such a link's
    ``url`` is the text as written.
    """

    def __init__(self, rules: Sequence[LinkRule] = DEFAULT_RULES, default_server: str | None = None) -> None:
        self._rules = tuple(rules)
        self._default_server = default_server

    def find(self, texts: Iterable[str]) -> ConferenceLink | None:
        """The conference of the first text (in order: location, description, ...) that names one; within a text
        the earliest match wins, and at the same place the earlier rule. Safe Links are unwrapped first."""
        for text in texts:
            if not text:
                continue
            text = unwrap_safe_links(text)
            matches = [m for order, rule in enumerate(self._rules) if (m := self._first(rule, order, text))]
            if matches:
                return min(matches, key=lambda m: (m.start, m.order)).link
        return None

    def _first(self, rule: LinkRule, order: int, text: str) -> _Match | None:
        for found in rule.pattern.finditer(text):
            link = self._link(found)
            if link is not None:
                return _Match(found.start(), order, link)
        return None

    def _link(self, found: re.Match[str]) -> ConferenceLink | None:
        conference_id = found.group("id")
        if conference_id is None or not _CONFERENCE_ID.fullmatch(conference_id):
            return None
        groups = found.re.groupindex
        server = found.group("server") if "server" in groups else None
        if server and not _valid_port(server):
            return None
        scheme = (found.group("scheme") if "scheme" in groups else None) or "https"
        server = server or self._default_server
        url = f"{scheme.lower()}://{server}/c/{conference_id}" if server else found.group(0)
        return ConferenceLink(conference_id=conference_id, url=url, server=server)


def _valid_port(server: str) -> bool:
    if server.endswith("]") or ":" not in server:
        return True
    port = server.rsplit(":", 1)[1]
    return port.isdigit() and 0 < int(port) <= 65535
