"""Product registration (seed 2.4): online with a key, and offline through ``regoffline.crg``.

Online: the key and this installation's fingerprint go to the registration server, which answers with a signed
licence; it is verified and stored in ``registration.licenseFile`` (default ``license.json`` beside config.json).
When the server cannot be reached, a paid key gets an offline request, ``regoffline.crg`` beside config.json, to
send to the manager; the registration file that comes back is installed with ``--offline_reg FILE``. A free key
cannot be registered offline (seed 2.4.2), so it is refused instead.

``regoffline.crg`` is JSON: ``format`` (``"tc-calendar-offline-request/1"``), ``product``, ``version``,
``productKey``, ``fingerprint``, ``createdAt``, and ``checksum``: ``"sha256:"`` + the SHA-256 of the other fields
as compact JSON with sorted keys, so a damaged or hand-edited request is noticed by whoever signs it.

Registration works before the rest of config.json is written (seed: register, then configure): only its
``registration`` section is read.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from tc_calendar import __version__
from tc_calendar.config import RegistrationSettings, read_document, resolve_config_path
from tc_calendar.errors import ConfigError
from tc_calendar.licence_keys import trusted_keys
from tc_calendar.licensing.client import RegistrationClient
from tc_calendar.licensing.errors import (
    FreeOfflineRegistrationError,
    LicenceError,
    OfflineRequestError,
    OfflineRequestWritten,
    RegistrationServerUnreachable,
)
from tc_calendar.licensing.fingerprint import installation_fingerprint
from tc_calendar.licensing.licence import PRODUCT, Edition, Licence, is_free_key, verify_licence

REGISTERED = "Your product successfully registered. Now you can run tc_calendar"
REGISTERED_OFFLINE = "Your product successfully registered offline. Now you can run tc_calendar"
FREE_OFFLINE_REFUSED = (
    "A free license cannot be registered offline. This form of registration is available only for paid licenses."
)
OFFLINE_REQUEST_NAME = "regoffline.crg"
OFFLINE_REQUEST_FORMAT = "tc-calendar-offline-request/1"


@dataclass(frozen=True)
class Installation:
    """Where this installation keeps its licence, what it is called (fingerprint), and whom it trusts."""

    config_dir: Path
    licence_file: Path
    fingerprint: str
    keys: dict[str, Ed25519PublicKey]
    server: str

    @classmethod
    def from_settings(cls, config_dir: Path, registration: RegistrationSettings, *,
                      machine_id: str | None = None) -> Installation:
        licence_file = Path(registration.license_file).expanduser()
        return cls(
            config_dir=config_dir,
            licence_file=licence_file if licence_file.is_absolute() else config_dir / licence_file,
            fingerprint=installation_fingerprint(config_dir, machine_id=machine_id),
            keys=trusted_keys(registration.public_key),
            server=registration.server,
        )

    @classmethod
    def from_config(cls, config: Path | None, *, machine_id: str | None = None) -> Installation:
        """For ``--register``/``--offline_reg``: only the ``registration`` section of config.json is read, and
        a missing config.json means the defaults (registration may come before configuration)."""
        config_path = resolve_config_path(config)
        section: object = {}
        if config_path.exists():
            document = read_document(config_path)
            assert isinstance(document.value, dict)
            section = document.value.get("registration", {})
        try:
            registration = RegistrationSettings.model_validate(section)
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(part) for part in ("registration", *problem["loc"]))
            raise ConfigError(problem["msg"], file=config_path, key_path=where) from None
        return cls.from_settings(config_path.parent, registration, machine_id=machine_id)

    @property
    def offline_request_file(self) -> Path:
        return self.config_dir / OFFLINE_REQUEST_NAME

    def verify(self, text: str, now: datetime, source: str) -> Licence:
        return verify_licence(text, self.keys, fingerprint=self.fingerprint, now=now, source=source)


# ---------------------------------------------------------------------------------------------- pure parts

@dataclass(frozen=True, slots=True)
class OfflineRequest:
    product_key: str
    fingerprint: str
    created_at: datetime


def _checksum(fields: dict[str, str]) -> str:
    return "sha256:" + hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def build_offline_request(product_key: str, fingerprint: str, created_at: datetime) -> str:
    """The text of ``regoffline.crg``."""
    fields = {
        "format": OFFLINE_REQUEST_FORMAT,
        "product": PRODUCT,
        "version": __version__,
        "productKey": product_key,
        "fingerprint": fingerprint,
        "createdAt": created_at.isoformat(),
    }
    return json.dumps({**fields, "checksum": _checksum(fields)}, indent=2) + "\n"


def parse_offline_request(text: str) -> OfflineRequest:
    """Read ``regoffline.crg``; :class:`OfflineRequestError` when it is damaged or not one."""
    try:
        data = json.loads(text)
    except ValueError:
        raise OfflineRequestError("not an offline registration request (not JSON)") from None
    if not isinstance(data, dict) or data.get("format") != OFFLINE_REQUEST_FORMAT:
        raise OfflineRequestError(f"not an offline registration request (expected format {OFFLINE_REQUEST_FORMAT})")
    fields = {name: value for name, value in data.items() if name != "checksum"}
    if not all(isinstance(value, str) for value in fields.values()) or data.get("checksum") != _checksum(fields):
        raise OfflineRequestError("the offline registration request is damaged (its checksum does not match)")
    try:
        return OfflineRequest(fields["productKey"], fields["fingerprint"], datetime.fromisoformat(fields["createdAt"]))
    except (KeyError, ValueError) as exc:
        raise OfflineRequestError(f"the offline registration request is incomplete: {exc}") from None


# ---------------------------------------------------------------------------------------------- flows

async def register_online(product_key: str, installation: Installation, now: datetime,
                          client: RegistrationClient | None = None) -> Licence:
    """``--register KEY``: the licence, verified and stored. When the server cannot be reached a paid key gets
    ``regoffline.crg`` (:class:`OfflineRequestWritten`) and a free key is refused."""
    key = product_key.strip()
    client = client or RegistrationClient(installation.server)
    try:
        text = await client.register(key, installation.fingerprint)
    except RegistrationServerUnreachable as exc:
        if is_free_key(key):
            raise FreeOfflineRegistrationError(
                f"{exc}. {FREE_OFFLINE_REFUSED} Allow this computer to reach {installation.server} "
                f"and run tc_calendar --register again"
            ) from exc
        request = installation.offline_request_file
        write_atomically(request, build_offline_request(key, installation.fingerprint, now))
        raise OfflineRequestWritten(
            f"{exc}. The offline registration request was written to {request}: send this file to your manager; "
            f"place the registration file you receive in {installation.config_dir} and run "
            f"tc_calendar --offline_reg <file>"
        ) from exc
    licence = installation.verify(text, now, f"the licence from {installation.server}")
    write_atomically(installation.licence_file, text)
    return licence


def register_offline(file: Path, installation: Installation, now: datetime) -> Licence:
    """``--offline_reg FILE``: check the registration file the manager sent and install it as the licence.

    A relative ``FILE`` that is not in the current directory is looked for in the connector's directory, where
    the guide says to place it.
    """
    path = file
    if not path.is_absolute() and not path.exists() and (installation.config_dir / path).exists():
        path = installation.config_dir / path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LicenceError(f"cannot read the registration file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise LicenceError(f"{path} is not a registration file (not text)") from None
    if OFFLINE_REQUEST_FORMAT in text:
        raise LicenceError(
            f"{path} is the offline registration request, not the registration file: send it to your manager and "
            f"run tc_calendar --offline_reg with the file you receive back"
        )
    licence = installation.verify(text, now, f"the registration file {path}")
    if licence.edition is Edition.FREE:
        raise FreeOfflineRegistrationError(f"{path} is a free licence. {FREE_OFFLINE_REFUSED} "
                                           f"Register it online with tc_calendar --register KEY")
    write_atomically(installation.licence_file, text)
    return licence


def load_licence(installation: Installation, now: datetime) -> Licence | None:
    """The installed licence, verified; ``None`` when none is installed (unregistered)."""
    try:
        text = installation.licence_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise LicenceError(f"cannot read the licence file {installation.licence_file}: {exc}") from None
    return installation.verify(text, now, f"the licence file {installation.licence_file}")


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
