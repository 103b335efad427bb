"""scripts/demo and scripts/test install into .venv once, and again only when what they install has changed.

The scripts run for real, in a copy of the repository's files, with a ``python3`` on PATH that records what it
is asked to do instead of downloading packages.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SIMS = ("ews_sim", "tcs_sim", "reg_sim", "graph_sim")

RECORDING_PYTHON = """#!/usr/bin/env bash
echo "python3 $*" >> "$CALLS"
if [ "$1" = "--version" ]; then echo "Python 3.11.9"; exit 0; fi
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin"
  for tool in python tc_calendar ruff mypy lint-imports; do
    printf '#!/usr/bin/env bash\\necho "%s $*" >> "$CALLS"\\n' "$tool" > "$3/bin/$tool"
    chmod +x "$3/bin/$tool"
  done
fi
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The files the scripts read, copied from the repository."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "scripts", repo / "scripts")
    shutil.copy(ROOT / "pyproject.toml", repo / "pyproject.toml")
    for sim in SIMS:
        (repo / "sims" / sim).mkdir(parents=True)
        shutil.copy(ROOT / "sims" / sim / "pyproject.toml", repo / "sims" / sim / "pyproject.toml")
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "python3").write_text(RECORDING_PYTHON)
    (tools / "python3").chmod(stat.S_IRWXU)
    return repo


def run_script(checkout: Path, name: str, *args: str, **env_vars: str) -> list[str]:
    """Run scripts/<name> (with ``env_vars`` added to the environment); the commands it ran, in order."""
    calls = checkout.parent / "calls.log"
    calls.write_text("")
    env = {**os.environ, "PATH": f"{checkout.parent / 'bin'}:{os.environ['PATH']}", "CALLS": str(calls)}
    env.pop("TC_CALENDAR_TEST_WORKERS", None)
    env.update(env_vars)
    result = subprocess.run(["bash", str(checkout / "scripts" / name), *args], capture_output=True, text=True,
                            env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return calls.read_text().splitlines()


def installs(calls: list[str]) -> list[str]:
    return [call for call in calls if " pip install " in f" {call} " and "--upgrade pip" not in call]


def test_the_demo_installs_once_then_starts_at_once(checkout: Path) -> None:
    first = run_script(checkout, "demo", "--port", "8080")
    assert installs(first) == [
        "python -m pip install --quiet -e . -e sims/ews_sim -e sims/tcs_sim -e sims/reg_sim -e sims/graph_sim"
    ]
    assert first[-1] == "tc_calendar demo --port 8080"

    second = run_script(checkout, "demo", "--pace", "5")
    assert second == ["python3 --version", "tc_calendar demo --pace 5"]


def test_a_changed_pyproject_installs_again(checkout: Path) -> None:
    run_script(checkout, "demo")
    simulator = checkout / "sims" / "ews_sim" / "pyproject.toml"
    simulator.write_text(simulator.read_text() + "\n# a new dependency\n")
    assert len(installs(run_script(checkout, "demo"))) == 1
    assert installs(run_script(checkout, "demo")) == []


def test_the_test_script_installs_its_extras_once(checkout: Path) -> None:
    first = run_script(checkout, "test", "-x")
    assert installs(first) == [
        "python -m pip install --quiet -e .[dev] -e sims/ews_sim -e sims/tcs_sim -e sims/reg_sim -e sims/graph_sim"
    ]
    second = run_script(checkout, "test", "-x")
    assert installs(second) == []
    assert second[-4:-1] == ["ruff check src sims tests bench", "mypy ", "lint-imports --no-logo"]
    parallel = r"^python -m pytest -n (\d+) --dist loadgroup --no-loadscope-reorder (.*)$"
    [(workers, rest)] = re.findall(parallel, second[-1])
    assert 4 <= int(workers) <= 8 and rest == "-x"


def test_the_test_script_runs_the_tests_on_as_many_workers_as_asked(checkout: Path) -> None:
    run_script(checkout, "test")
    last = run_script(checkout, "test", TC_CALENDAR_TEST_WORKERS="3")[-1]
    assert last == "python -m pytest -n 3 --dist loadgroup --no-loadscope-reorder"


def test_ci_always_installs_afresh() -> None:
    assert "rm -rf .venv" in (ROOT / ".ci" / "run").read_text()
