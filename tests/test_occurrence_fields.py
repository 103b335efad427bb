"""The fields of an occurrence are declared once (model.OCCURRENCE_FIELDS); hash, copies, rows and wire follow."""

from __future__ import annotations

from dataclasses import fields

from tc_calendar.model import OCCURRENCE_FIELDS, FieldKind, Occurrence


def test_every_field_of_an_occurrence_but_its_key_is_declared_once() -> None:
    declared = [spec.name for spec in OCCURRENCE_FIELDS]
    assert sorted(declared) == sorted(spec.name for spec in fields(Occurrence) if spec.name != "key")
    assert len(set(declared)) == len(declared)


def test_a_choice_names_its_values_and_its_default_is_one_of_them() -> None:
    for spec in OCCURRENCE_FIELDS:
        if spec.kind is FieldKind.CHOICE:
            assert spec.choices is not None and spec.default in list(spec.choices)
