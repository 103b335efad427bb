"""Helpers of the licensing tests: product keys the simulator knows, config files, the command as a subprocess."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

FREE_KEY = "FREE-0001"
STANDARD_KEY = "STD-0001"
STANDARD_LIMIT = 120


def write_config(directory: Path, server: str, public_key: str, **more: object) -> Path:
    """A config.json with the ``registration`` section (and ``more`` top-level keys)."""
    config = directory / "config.json"
    document = {"registration": {"server": server, "publicKey": public_key}, **more}
    config.write_text(json.dumps(document), encoding="utf-8")
    return config


def public_key_of(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes_raw()).decode()


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TC_CALENDAR_")}
    return subprocess.run([sys.executable, "-m", "tc_calendar", *args], capture_output=True, text=True, env=env,
                          timeout=60, check=False, cwd=cwd)
