"""The shipped systemd unit is valid for systemd (guide 2.3: ``systemctl start trueconf-calendar.service``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "packaging" / "trueconf-calendar.service"
INSTALLED_BINARY = "/opt/trueconf/calendar/bin/calendar/tc_calendar"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    # The unit names the installed path; point it at a binary that exists here so verify checks the rest.
    binary = shutil.which("tc_calendar") or shutil.which("true")
    assert binary is not None
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace(INSTALLED_BINARY, binary))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60
    )
    problems = [line for line in result.stderr.splitlines() if unit.name in line or "Unknown" in line]
    assert result.returncode == 0 and not problems, result.stderr


def test_unit_runs_as_a_dedicated_user_and_restarts_on_failure() -> None:
    text = UNIT.read_text()
    assert "User=tc-calendar" in text
    assert "Restart=on-failure" in text
    assert "ExecStart=" + INSTALLED_BINARY + " run" in text
