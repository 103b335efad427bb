"""Turn pydantic's validation errors into what an administrator reads: a key path and what was expected.

Pydantic reports a location such as ``("calendarProviders", 0, "port")`` and a message written for
programmers; here the location becomes ``calendarProviders[0].port`` and the message says what the key should
hold and what it holds now. Values under secret-bearing keys are never repeated in a message.
"""

from __future__ import annotations

import json
import re

from pydantic_core import ErrorDetails

from tc_calendar._jsonc import KeyPath
from tc_calendar.config.models import PROVIDER_TAGS

SECRET_KEYS = frozenset({"password", "clientSecret", "token", "secret", "secrets"})
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_EXPECTED = {
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected a string",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "list_type": "expected a list ([...])",
    "tuple_type": "expected a list ([...])",
    "dict_type": "expected an object ({...})",
    "model_type": "expected an object ({...})",
    "model_attributes_type": "expected an object ({...})",
}


def key_path_text(path: KeyPath) -> str:
    """``("a", 0, "b")`` -> ``a[0].b``; keys that are not plain names are quoted: ``users["x@y.z"]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{quoted(part)}]"
    return text


def quoted(text: str) -> str:
    """``text`` as a JSON string; control characters and line separators (U+0085, U+2028...) escaped too, so a
    problem stays one line."""
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in json.dumps(text, ensure_ascii=False))


def error_path(error: ErrorDetails) -> KeyPath:
    """The location of ``error`` in the document; a problem with a mapping key points at that key.

    Pydantic puts the tag of the provider model it chose (``ews``, ``graph``) after ``calendarProviders[i]``;
    that is not a key of the file, so it is dropped.
    """
    path = tuple(part for part in error["loc"] if part != "[key]")
    if len(path) >= 3 and path[0] == "calendarProviders" and isinstance(path[1], int) and path[2] in PROVIDER_TAGS:
        path = path[:2] + path[3:]
    return path


def describe_value(value: object) -> str:
    """A short description of a JSON value for "got ..."."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        text = quoted(value)
        if len(text) > 60:
            text = text[:56] + '..."'
        return f"the string {text}"
    return str(value)


def is_secret_path(path: KeyPath) -> bool:
    return any(part in SECRET_KEYS for part in path if isinstance(part, str))


def error_message(error: ErrorDetails) -> str:
    """What was expected and, unless the key holds a secret, what was found."""
    kind = error["type"]
    path = error_path(error)
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "required key is missing"
    if kind in _EXPECTED:
        expected = _EXPECTED[kind]
    elif kind == "literal_error":
        expected = f"expected one of {ctx.get('expected', '')}".replace("'", '"')
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
        limit = next(iter(ctx.values()), "")
        expected = f"expected a number {bound} {limit}"
    else:
        return str(error["msg"])
    if is_secret_path(path):
        return expected
    return f"{expected}, got {describe_value(error.get('input'))}"
