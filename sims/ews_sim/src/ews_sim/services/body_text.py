"""Body conversions Exchange performs on request: HTML to plain text and plain text to HTML.

``ItemShape/BodyType`` ``Text`` asks for the text rendering of an HTML body (tags dropped, block elements as
line breaks, entities decoded); ``HTML`` wraps a plain body in a minimal document; ``Best`` returns the body as
stored. ``TextBody`` and ``Preview`` (Exchange 2013+) are always text; the preview is the first 255 characters.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

PREVIEW_LENGTH = 255
_BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCKS and tag != "br":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(markup)
    extractor.close()
    text = "".join(extractor.parts).replace("\xa0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def text_to_html(text: str) -> str:
    escaped = html.escape(text).replace("\r\n", "\n").replace("\n", "<br>\r\n")
    return (
        '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n</head>\r\n'
        f"<body>\r\n<div>{escaped}</div>\r\n</body>\r\n</html>\r\n"
    )


def render(content: str, stored_type: str, wanted: str) -> tuple[str, str]:
    """(content, BodyType) for a body stored as ``stored_type`` when ``wanted`` (Best, HTML, Text) is asked for."""
    if wanted == "Text" and stored_type == "HTML":
        return html_to_text(content), "Text"
    if wanted == "HTML" and stored_type == "Text":
        return text_to_html(content), "HTML"
    return content, stored_type


def plain(content: str, stored_type: str) -> str:
    return html_to_text(content) if stored_type == "HTML" else content
