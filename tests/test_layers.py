"""Imports run one way: the records and the sync core never import a provider or the engine, and no provider
imports the engine's sync loops, so a provider's author sees everything the engine uses in the Protocol."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "tc_calendar"


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_records_and_the_sync_core_import_no_provider_and_no_engine() -> None:
    modules = [SRC / "records.py", *sorted((SRC / "sync").glob("*.py"))]
    for path in modules:
        wrong = {m for m in imported_modules(path) if m.startswith(("tc_calendar.providers", "tc_calendar.engine"))}
        assert not wrong, f"{path.relative_to(SRC)} imports {sorted(wrong)}"


def test_the_graph_provider_imports_nothing_of_the_engine() -> None:
    for path in sorted((SRC / "providers").glob("*graph*.py")):
        wrong = {m for m in imported_modules(path) if m.startswith("tc_calendar.engine")}
        assert not wrong, f"{path.relative_to(SRC)} imports {sorted(wrong)}"
