"""The command exists and answers."""

import subprocess
import sys

from tc_calendar import __version__


def test_version_is_printed_by_python_dash_m() -> None:
    out = subprocess.run([sys.executable, "-m", "tc_calendar", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"tc_calendar {__version__}"
