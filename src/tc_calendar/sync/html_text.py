"""Event descriptions as safe plain text.

Exchange stores most bodies as HTML (Outlook's, full of ``<o:p>``, conditional comments and styles). Clients show
the description as text, so the sync core turns it into plain text once: markup and comments dropped, scripts and
styles dropped with their content, entities decoded, block elements turned into line breaks, runs of spaces and
blank lines tidied. The result is plain text: no markup of the body survives, but decoded entities may leave
characters such as ``<`` in it, so clients must still show it as text (escape it), never as HTML.

Line breaks follow what a reader sees: consecutive block boundaries make one line break (Outlook writes every
line as its own ``<p class=MsoNormal>`` with no margin), an empty paragraph (``<p>&nbsp;</p>``) makes a blank
line, ``<br>`` is a line break, and source formatting between tags is not text.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_DROPPED = frozenset({"script", "style", "head", "title", "template", "noscript", "xml"})
_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "div", "dl", "dt", "dd", "fieldset", "figure", "footer",
        "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
        "section", "table", "tr", "ul",
    }
)  # fmt: skip
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
_SPACES = re.compile(r"[ \t\f\v\u00a0\u200b]+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._dropping = 0
        self._break = False
        self._prefix = ""

    def _block(self) -> None:
        self._break = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            self._dropping += 1
        elif tag == "br":
            self.parts.append("\n")
            self._break = False
        elif tag == "li":
            self._block()
            self._prefix = "- "
        elif tag in _BLOCK:
            self._block()
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/>, <p/>: a self-closed tag never opens a dropped section.
        if tag == "br":
            self.parts.append("\n")
            self._break = False
        elif tag in _BLOCK:
            self._block()

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self._dropping = max(0, self._dropping - 1)
        elif tag in _BLOCK:
            self._block()

    def handle_data(self, data: str) -> None:
        if self._dropping:
            return
        if not _HTML_SPACE.sub("", data):
            if not self._break:
                self.parts.append(" ")
            return
        if self._break:
            if self.parts:
                self.parts.append("\n")
            self._break = False
        self.parts.append(self._prefix + _HTML_SPACE.sub(" ", data))
        self._prefix = ""


def tidy_text(text: str) -> str:
    """Plain text tidied: one kind of line break, no trailing spaces, runs of spaces and of blank lines collapsed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def html_to_text(html: str) -> str:
    """The visible text of an HTML fragment or document."""
    if not html.strip():
        return ""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return tidy_text("".join(parser.parts))
