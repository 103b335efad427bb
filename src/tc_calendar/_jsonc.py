"""A JSON parser that accepts comments and trailing commas and remembers where every value is.

``config.json`` as shipped (seed section 3.1) contains ``//`` and ``/* */`` comments and trailing commas, so
the standard :mod:`json` module cannot read it; and a helpful error must name the line of the offending value,
which no common JSON-with-comments library reports. This module does both, and nothing else: it is pure (text
in, values and positions out), so every rule is tested without files.

The accepted language is JSON (RFC 8259) plus: comments wherever whitespace may appear, one trailing comma
before ``}`` or ``]``, and a leading byte-order mark. A key that appears twice in one object is an error, since
a silently ignored setting is worse than a refusal to start.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass

KeyPath = tuple[str | int, ...]
"""Where a value sits in the document: object keys and array indices from the root, e.g. ``("a", 0, "b")``."""

_MAX_DEPTH = 200

_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_STRING_CHUNK = re.compile(r'[^"\\\x00-\x1f]*')
_WHITESPACE = re.compile(r"[ \t\r\n]*")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


@dataclass(frozen=True, slots=True)
class Position:
    """A place in the text; both numbers start at 1, as editors show them."""

    line: int
    column: int


class JsoncSyntaxError(ValueError):
    """The text is not JSON (with comments); ``line`` and ``column`` point at the first thing that is wrong."""

    def __init__(self, message: str, position: Position) -> None:
        self.message = message
        self.position = position
        super().__init__(f"{message} (line {position.line} column {position.column})")


class DuplicateKeyError(JsoncSyntaxError):
    """An object names the same key twice; ``path`` is the key's path, ``first`` where it appeared first."""

    def __init__(self, path: KeyPath, position: Position, first: Position) -> None:
        self.path = path
        self.first = first
        message = f"the key {path[-1]!r} appears twice in the same object (first at line {first.line})"
        super().__init__(message, position)


@dataclass(frozen=True)
class Document:
    """A parsed document: plain Python values (dict, list, str, int, float, bool, None) and their positions.

    ``value_positions`` maps each path to where its value starts; ``key_positions`` maps the path of each object
    member to where its key starts (the place to point at when the key itself is the problem).
    """

    value: object
    value_positions: Mapping[KeyPath, Position]
    key_positions: Mapping[KeyPath, Position]

    def position_of(self, path: KeyPath) -> Position:
        """Where the value at ``path`` starts, or, if there is no such value, where its nearest ancestor does."""
        for end in range(len(path), -1, -1):
            found = self.value_positions.get(path[:end])
            if found is not None:
                return found
        return Position(1, 1)

    def key_position_of(self, path: KeyPath) -> Position:
        """Where the key of the member at ``path`` starts; falls back to :meth:`position_of`."""
        return self.key_positions.get(path) or self.position_of(path)


def parse(text: str) -> Document:
    """Parse ``text``; raises :class:`JsoncSyntaxError` with line and column when it is not valid."""
    return _Parser(text).parse_document()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text[1:] if text.startswith("\ufeff") else text
        self.offset = 0
        self.line_starts = [0] + [m.end() for m in re.finditer(r"\n", self.text)]
        self.value_positions: dict[KeyPath, Position] = {}
        self.key_positions: dict[KeyPath, Position] = {}

    def position(self, offset: int | None = None) -> Position:
        at = self.offset if offset is None else offset
        index = bisect_right(self.line_starts, at) - 1
        return Position(index + 1, at - self.line_starts[index] + 1)

    def fail(self, message: str, offset: int | None = None) -> JsoncSyntaxError:
        return JsoncSyntaxError(message, self.position(offset))

    def parse_document(self) -> Document:
        self.skip_blank()
        if self.offset >= len(self.text):
            raise self.fail("the file is empty; expected a JSON object")
        value = self.parse_value((), 0)
        self.skip_blank()
        if self.offset < len(self.text):
            raise self.fail("unexpected text after the end of the document")
        return Document(value, self.value_positions, self.key_positions)

    def skip_blank(self) -> None:
        """Skip whitespace and comments."""
        text = self.text
        while True:
            match = _WHITESPACE.match(text, self.offset)
            self.offset = match.end() if match else self.offset
            if text.startswith("//", self.offset):
                end = text.find("\n", self.offset)
                self.offset = len(text) if end < 0 else end + 1
            elif text.startswith("/*", self.offset):
                end = text.find("*/", self.offset + 2)
                if end < 0:
                    raise self.fail("a /* comment is never closed with */")
                self.offset = end + 2
            else:
                return

    def parse_value(self, path: KeyPath, depth: int) -> object:
        if depth > _MAX_DEPTH:
            raise self.fail(f"values are nested more than {_MAX_DEPTH} levels deep")
        self.value_positions[path] = self.position()
        char = self.text[self.offset : self.offset + 1]
        if char == "{":
            return self.parse_object(path, depth)
        if char == "[":
            return self.parse_array(path, depth)
        if char == '"':
            return self.parse_string()
        for word, literal in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.offset):
                self.offset += len(word)
                return literal
        match = _NUMBER.match(self.text, self.offset)
        if match and match.end() > self.offset:
            self.offset = match.end()
            if match.group(1) or match.group(2):
                return float(match.group(0))
            return int(match.group(0))
        if not char:
            raise self.fail("the file ends where a value was expected")
        if char == "'":
            raise self.fail("strings must be in double quotes, not single quotes")
        raise self.fail(f"expected a value (object, array, string, number, true, false or null), found {char!r}")

    def parse_object(self, path: KeyPath, depth: int) -> dict[str, object]:
        result: dict[str, object] = {}
        self.offset += 1
        self.skip_blank()
        if self.text.startswith("}", self.offset):
            self.offset += 1
            return result
        while True:
            if not self.text.startswith('"', self.offset):
                if self.offset >= len(self.text):
                    raise self.fail("the file ends inside an object; a } is missing")
                raise self.fail("expected a key in double quotes")
            key_position = self.position()
            key = self.parse_string()
            member = (*path, key)
            if key in result:
                raise DuplicateKeyError(member, key_position, self.key_positions[member])
            self.key_positions[member] = key_position
            self.skip_blank()
            if not self.text.startswith(":", self.offset):
                raise self.fail(f"expected ':' after the key {key!r}")
            self.offset += 1
            self.skip_blank()
            result[key] = self.parse_value(member, depth + 1)
            self.skip_blank()
            if self.text.startswith("}", self.offset):
                self.offset += 1
                return result
            if not self.text.startswith(",", self.offset):
                raise self.fail("expected ',' or '}' after an object member")
            self.offset += 1
            self.skip_blank()
            if self.text.startswith("}", self.offset):
                self.offset += 1
                return result

    def parse_array(self, path: KeyPath, depth: int) -> list[object]:
        result: list[object] = []
        self.offset += 1
        self.skip_blank()
        if self.text.startswith("]", self.offset):
            self.offset += 1
            return result
        while True:
            result.append(self.parse_value((*path, len(result)), depth + 1))
            self.skip_blank()
            if self.text.startswith("]", self.offset):
                self.offset += 1
                return result
            if not self.text.startswith(",", self.offset):
                if self.offset >= len(self.text):
                    raise self.fail("the file ends inside an array; a ] is missing")
                raise self.fail("expected ',' or ']' after an array element")
            self.offset += 1
            self.skip_blank()
            if self.text.startswith("]", self.offset):
                self.offset += 1
                return result

    def parse_string(self) -> str:
        start = self.offset
        self.offset += 1
        parts: list[str] = []
        text = self.text
        while True:
            match = _STRING_CHUNK.match(text, self.offset)
            assert match is not None  # the pattern also matches the empty string
            parts.append(match.group(0))
            self.offset = match.end()
            char = text[self.offset : self.offset + 1]
            if char == '"':
                self.offset += 1
                return "".join(parts)
            if char == "\\":
                parts.append(self.parse_escape())
            elif not char:
                raise self.fail("a string is never closed with a double quote", start)
            else:
                raise self.fail("a line break or control character inside a string; close the string first")

    def parse_escape(self) -> str:
        kind = self.text[self.offset + 1 : self.offset + 2]
        if kind in _ESCAPES:
            self.offset += 2
            return _ESCAPES[kind]
        if kind != "u":
            raise self.fail(f"invalid escape \\{kind} in a string")
        code = self.parse_hex4(self.offset + 2)
        self.offset += 6
        if 0xD800 <= code < 0xDC00 and self.text.startswith("\\u", self.offset):
            low = self.parse_hex4(self.offset + 2)
            if 0xDC00 <= low < 0xE000:
                self.offset += 6
                return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00))
        return chr(code)

    def parse_hex4(self, at: int) -> int:
        digits = self.text[at : at + 4]
        if len(digits) != 4 or not all(c in "0123456789abcdefABCDEF" for c in digits):
            raise self.fail("invalid \\u escape: expected four hexadecimal digits", at)
        return int(digits, 16)
