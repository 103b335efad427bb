"""``python -m tcs_sim`` starts a server a demo can talk to."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx


def test_python_m_tcs_sim_serves_users_from_a_file(tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    users.write_text(json.dumps([{"id": "zoe", "email": "zoe@example.test", "display_name": "Zoe Z"}]))
    proc = subprocess.Popen([sys.executable, "-m", "tcs_sim", "--port", "0", "--users", str(users)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("tcs_sim listening on http://127.0.0.1:")
        url = line.split()[-1]
        state = httpx.get(f"{url}/_control/state", timeout=5).json()
        assert [u["id"] for u in state["users"]] == ["zoe"]
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
