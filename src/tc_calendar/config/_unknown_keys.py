"""Keys in ``config.json`` that no setting reads, found in the parsed file itself.

The file is walked against the settings models, not the validated settings, so unknown keys are found even when
other values are wrong, and reported together with those problems. An unknown key that is a misspelling of a key
the same object knows (``autosync`` for ``autoSync``, ``hots`` for ``host``) is a mistake that would silently
leave a setting at its default: the loader treats it as an error. Any other unknown key (a note, a key of a newer
version) is only warned about.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from tc_calendar._jsonc import KeyPath


@dataclass(frozen=True, slots=True)
class UnknownKey:
    """``key`` in the object at ``parent``; ``misspelling_of`` is the known key it is a misspelling of, if any."""

    parent: KeyPath
    key: str
    misspelling_of: str | None
    suggestion: str | None
    """The closest known key, also for a key too different to count as a misspelling (shown as a hint)."""

    @property
    def path(self) -> KeyPath:
        return (*self.parent, self.key)

    @property
    def meant(self) -> KeyPath | None:
        """Where the key it is a misspelling of belongs."""
        return (*self.parent, self.misspelling_of) if self.misspelling_of is not None else None


def find_unknown_keys(document: object, model: type[BaseModel]) -> list[UnknownKey]:
    """Every key of ``document`` (the parsed file) that ``model`` and its nested models do not read."""
    return list(_walk(document, (model,), ()))


def misspelling_of(key: str, known: Sequence[str]) -> str | None:
    """The known key ``key`` is a misspelling of: the same ignoring case, or a typo or two away from it
    (one for short keys; a transposition counts as one)."""
    lowered = key.lower()
    for candidate in known:
        if candidate.lower() == lowered:
            return candidate
    scored = sorted((_typo_distance(lowered, candidate.lower()), candidate) for candidate in known)
    if scored and scored[0][0] <= max(1, len(scored[0][1]) // 4):
        return scored[0][1]
    return None


def _walk(value: object, models: tuple[type[BaseModel], ...], path: KeyPath) -> Iterator[UnknownKey]:
    if not isinstance(value, Mapping):
        return
    fields: dict[str, FieldInfo] = {}
    for model in models:
        for name, field in model.model_fields.items():
            fields.setdefault(field.alias or name, field)
    known = list(fields)
    for key, item in value.items():
        found = fields.get(key)
        if found is None:
            close = difflib.get_close_matches(key, known, n=1)
            yield UnknownKey(path, key, misspelling_of(key, known), close[0] if close else None)
            continue
        for where, nested, nested_models in _sections(found.annotation, item, (*path, key)):
            yield from _walk(nested, nested_models, where)


def _sections(
    annotation: Any, value: object, path: KeyPath
) -> Iterator[tuple[KeyPath, object, tuple[type[BaseModel], ...]]]:
    """The objects inside ``value`` that settings models read, with where they are and which models read them."""
    origin = get_origin(annotation)
    if origin is Annotated:
        yield from _sections(get_args(annotation)[0], value, path)
    elif origin is Union or origin is types.UnionType:
        members = tuple(_unannotated(member) for member in get_args(annotation))
        models = tuple(member for member in members if _is_model(member))
        if models:
            yield path, value, models
        for member in members:
            if not _is_model(member):
                yield from _sections(member, value, path)
    elif _is_model(annotation):
        yield path, value, (annotation,)
    elif origin in (tuple, list) and isinstance(value, list):
        item_type = get_args(annotation)[0] if get_args(annotation) else Any
        for index, item in enumerate(value):
            yield from _sections(item_type, item, (*path, index))
    elif origin is dict and isinstance(value, Mapping) and len(get_args(annotation)) == 2:
        for key, item in value.items():
            yield from _sections(get_args(annotation)[1], item, (*path, key))


def _unannotated(annotation: Any) -> Any:
    """The type inside ``Annotated[...]`` (a tagged union's members are annotated with their tag)."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _typo_distance(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap two neighbours) that turn ``a`` into ``b``: the optimal string
    alignment distance."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]
