"""The installation fingerprint a licence is bound to.

An installation is this machine plus the directory of its ``config.json``: the fingerprint is a hash of the
operating system's machine ID (``/etc/machine-id`` on Linux, ``MachineGuid`` on Windows) and that directory.
Copying a licence to another machine, or to a second connector in another directory, makes it fail the
fingerprint check; reinstalling the same connector in place keeps it valid. The hash hides the machine ID.
"""

from __future__ import annotations

import hashlib
import sys
import uuid
from pathlib import Path

FINGERPRINT_PREFIX = "tcc1-"
MACHINE_ID_FILES = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))


def fingerprint_of(machine_id: str, install_dir: Path) -> str:
    """Pure: the fingerprint of an installation in ``install_dir`` on the machine ``machine_id``."""
    digest = hashlib.sha256(f"{machine_id.strip().lower()}\n{install_dir}".encode()).hexdigest()
    return FINGERPRINT_PREFIX + digest[:32]


def installation_fingerprint(config_dir: Path, *, machine_id: str | None = None) -> str:
    """This installation's fingerprint; ``machine_id`` overrides the operating system's (tests)."""
    return fingerprint_of(machine_id if machine_id is not None else read_machine_id(), config_dir.absolute())


def read_machine_id() -> str:
    """The operating system's stable machine ID; the network card's address when there is none."""
    for path in MACHINE_ID_FILES:
        try:
            text = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if text:
            return text
    if sys.platform == "win32":
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Cryptography") as key:
                return str(winreg.QueryValueEx(key, "MachineGuid")[0])
        except OSError:
            pass
    return f"node-{uuid.getnode():012x}"
