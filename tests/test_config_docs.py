"""The documentation and the shipped example cover every key the settings read, and the example loads."""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from tc_calendar._jsonc import parse
from tc_calendar.config import Settings, load_settings
from tc_calendar.crypto import SecretBox

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "packaging" / "config.example.json"
DOCS = ROOT / "docs" / "configuration.md"


def _models_in(annotation: object) -> Iterator[tuple[type[BaseModel], bool]]:
    """Settings models inside a field's type, and whether they sit in a list."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, False
        return
    origin = typing.get_origin(annotation)
    for argument in typing.get_args(annotation):
        for model, _ in _models_in(argument):
            yield model, origin is tuple


def key_paths(model: type[BaseModel] = Settings, prefix: str = "") -> set[str]:
    """Every key the settings read, as ``calendarProviders[].credentials[].login``."""
    paths: set[str] = set()
    for name, field in model.model_fields.items():
        path = prefix + (field.alias or name)
        paths.add(path)
        for inner, in_list in _models_in(field.annotation):
            paths |= key_paths(inner, path + ("[]." if in_list else "."))
    return paths


def example_paths(value: object, prefix: str = "") -> set[str]:
    paths: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            path = prefix + key
            paths.add(path)
            paths |= example_paths(item, path + ".")
    elif isinstance(value, list):
        for item in value:
            paths |= example_paths(item, prefix[:-1] + "[].")
    return paths


def test_the_walk_finds_nested_keys() -> None:
    paths = key_paths()
    assert {"wsPort", "cache.backward", "calendarProviders[].credentials[].password", "trueconf.userMap"} <= paths


def test_every_key_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    paths = key_paths()
    leaves = {path for path in paths if not any(other.startswith(path + ".") for other in paths)}
    missing = sorted(path for path in leaves if f"`{path}`" not in text)
    assert missing == []


def test_the_example_shows_every_key() -> None:
    shown = example_paths(parse(EXAMPLE.read_text(encoding="utf-8")).value)
    not_shown = key_paths() - shown
    # Alternatives shown in comments: a static token instead of clientId/clientSecret, a certificate instead of a
    # client secret (its file must exist for the example to load).
    assert not_shown == {
        "trueconf.token",
        "calendarProviders[].certificate",
        "calendarProviders[].certificate.file",
        "calendarProviders[].certificate.thumbprint",
    }


def test_the_example_loads_once_its_placeholders_are_encrypted(tmp_path: Path) -> None:
    box = SecretBox.load_or_create(tmp_path / "calendar.key")
    text = re.sub(
        r'"encrypted_[a-z_]+"', lambda m: f'"{box.encrypt(m.group(0))}"', EXAMPLE.read_text(encoding="utf-8")
    )
    (tmp_path / "config.json").write_text(text, encoding="utf-8")
    settings = load_settings(tmp_path / "config.json")
    assert settings.calendar_providers[0].credentials[0].password.get_secret_value() == '"encrypted_password"'
    assert settings.trueconf is not None and settings.trueconf.client_id == "calendar-connector"
    assert settings.link_rules[0].regex.search("https://vc.domen.com/j/abc") is not None
    graph = settings.calendar_providers[1]
    assert graph.type == "graph" and graph.users == ("cloud.name@domen.com",)
