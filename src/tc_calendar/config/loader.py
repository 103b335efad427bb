"""Find, read and check ``config.json``; the only part of the config package that touches files.

Path resolution: ``--config PATH``, else ``$TC_CALENDAR_CONFIG``, else the seed's
``/opt/trueconf/calendar/etc/calendar/config.json``. Key file resolution: ``--key-file``, else
``$TC_CALENDAR_KEY_FILE``, else ``keyFile`` from the config, else ``calendar.key`` beside the config.

Every problem becomes one :class:`ConfigError` naming the file, the line, the key path and what was expected;
unknown keys are logged as warnings (a typo should not stop a running service from restarting, but must be seen).
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ValidationError

from tc_calendar._jsonc import Document, DuplicateKeyError, JsoncSyntaxError, KeyPath, parse
from tc_calendar.config._messages import error_message, error_path, key_path_text
from tc_calendar.config._types import DECRYPTOR_CONTEXT_KEY
from tc_calendar.config.certificates import CertificateFileError, read_certificate_credential
from tc_calendar.config.models import (
    CONFIG_PATH_CONTEXT_KEY,
    DEFAULT_CONFIG_PATH,
    KEY_FILE_CONTEXT_KEY,
    GraphProviderSettings,
    ProviderSettings,
    Settings,
)
from tc_calendar.crypto import SecretBox
from tc_calendar.errors import ConfigError

ENV_CONFIG = "TC_CALENDAR_CONFIG"
ENV_KEY_FILE = "TC_CALENDAR_KEY_FILE"
DEFAULT_KEY_FILE_NAME = "calendar.key"
CERTIFICATE_RENEWAL_NOTICE = timedelta(days=30)
"""A Graph certificate that expires sooner than this is warned about at every start."""

log = logging.getLogger("tc_calendar.config")


def resolve_config_path(path: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The config file to use: the explicit ``path``, else ``$TC_CALENDAR_CONFIG``, else the default."""
    environ = os.environ if env is None else env
    if path is not None:
        return Path(path).expanduser().absolute()
    if environ.get(ENV_CONFIG):
        return Path(environ[ENV_CONFIG]).expanduser().absolute()
    return DEFAULT_CONFIG_PATH


def resolve_key_file(
    config_path: Path,
    *,
    key_file: Path | None = None,
    key_file_setting: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Path:
    """The key file: explicit, else ``$TC_CALENDAR_KEY_FILE``, else ``keyFile`` (relative to the config), else
    ``calendar.key`` beside the config."""
    environ = os.environ if env is None else env
    if key_file is not None:
        return Path(key_file).expanduser().absolute()
    if environ.get(ENV_KEY_FILE):
        return Path(environ[ENV_KEY_FILE]).expanduser().absolute()
    candidate = Path(key_file_setting or DEFAULT_KEY_FILE_NAME).expanduser()
    return candidate if candidate.is_absolute() else config_path.parent / candidate


def read_document(path: Path) -> Document:
    """Read and parse the file; a missing file or a syntax error is a :class:`ConfigError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"the file does not exist (choose another with --config or {ENV_CONFIG})", file=path
        ) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, expected the config.json file", file=path) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})", file=path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror or exc}", file=path) from None
    try:
        document = parse(text)
    except DuplicateKeyError as exc:
        raise ConfigError(
            exc.message, file=path, line=exc.position.line, key_path=key_path_text(exc.path)
        ) from None
    except JsoncSyntaxError as exc:
        raise ConfigError(
            f"not valid JSON: {exc.message}", file=path, line=exc.position.line, column=exc.position.column
        ) from None
    if not isinstance(document.value, dict):
        raise ConfigError("expected a JSON object ({...}) at the top of the file", file=path, line=1)
    return document


def key_file_setting_of(document: Document) -> str | None:
    """The raw ``keyFile`` value, if the document has a usable one (needed before the full validation)."""
    value = document.value.get("keyFile") if isinstance(document.value, dict) else None
    return value if isinstance(value, str) and value.strip() else None


def load_settings(
    path: Path | None = None, *, key_file: Path | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Load, decrypt and check the configuration; raises :class:`ConfigError` with file, line and key path."""
    config_path = resolve_config_path(path, env)
    document = read_document(config_path)
    resolved_key_file = resolve_key_file(
        config_path, key_file=key_file, key_file_setting=key_file_setting_of(document), env=env
    )
    return parse_settings(document, config_path=config_path, key_file=resolved_key_file)


def parse_settings(document: Document, *, config_path: Path, key_file: Path) -> Settings:
    """Validate a parsed document; the key file is opened only if an encrypted value needs it."""
    boxes: list[SecretBox] = []

    def decrypt(token: str) -> str:
        if not boxes:
            boxes.append(SecretBox.load(key_file))
        return boxes[0].decrypt(token)

    context = {DECRYPTOR_CONTEXT_KEY: decrypt, CONFIG_PATH_CONTEXT_KEY: config_path, KEY_FILE_CONTEXT_KEY: key_file}
    try:
        settings = Settings.model_validate(document.value, context=context)
    except ValidationError as exc:
        problems = [(error_path(error), error_message(error)) for error in exc.errors()]
        raise _first_problem(document, config_path, problems) from None
    problems = check_consistency(settings)
    if problems:
        raise _first_problem(document, config_path, problems)
    for path, message in find_unknown_keys(settings):
        line = document.key_position_of(path).line
        log.warning("config warning: %s line %d: %s: %s", config_path, line, key_path_text(path), message)
    for path, message in find_doubtful_settings(settings):
        line = document.position_of(path).line
        log.warning("config warning: %s line %d: %s: %s", config_path, line, key_path_text(path), message)
    return settings


def _first_problem(document: Document, config_path: Path, problems: list[tuple[KeyPath, str]]) -> ConfigError:
    """The problem that comes first in the file, with a count of the others so none is silently hidden."""
    located = sorted(
        ((document.position_of(path).line, index, path, message) for index, (path, message) in enumerate(problems)),
    )
    line, _, path, message = located[0]
    if len(located) > 1:
        others = len(located) - 1
        message += f" (and {others} more problem{'s' if others > 1 else ''})"
    return ConfigError(message, file=config_path, line=line, key_path=key_path_text(path) or None)


def check_consistency(settings: Settings) -> list[tuple[KeyPath, str]]:
    """Rules across keys that pydantic checks one value at a time cannot see.

    A mailbox is read by exactly one provider: listed under two (say an EWS and a Graph provider of a hybrid
    organization) it would be synchronized twice, so both providers are named.
    """
    problems: list[tuple[KeyPath, str]] = []
    seen: dict[str, KeyPath] = {}
    for p, provider in enumerate(settings.calendar_providers):
        for u, user in enumerate(provider.users):
            path: KeyPath = ("calendarProviders", p, "users", u)
            first = seen.get(user)
            if first is None:
                seen[user] = path
            elif first[1] == p:
                problems.append(
                    (path, f"the user {user} is listed twice (also at {key_path_text(first)}; "
                           "e-mail addresses are compared ignoring case)")
                )
            else:
                other = int(first[1])
                problems.append(
                    (path, f"the mailbox {user} is listed under two providers, "
                           f"{provider_label(other, settings.calendar_providers[other])} at {key_path_text(first)} "
                           f"and {provider_label(p, provider)}; list it under the one provider that serves it "
                           "(e-mail addresses are compared ignoring case)")
                )
    return problems


def provider_label(index: int, provider: ProviderSettings) -> str:
    """``calendarProviders[0] (ews, host ex.example.com)`` or ``calendarProviders[1] (graph, tenant ...)``."""
    if isinstance(provider, GraphProviderSettings):
        return f"calendarProviders[{index}] (graph, tenant {provider.tenant_id})"
    return f"calendarProviders[{index}] ({provider.type}, host {provider.host})"


def find_doubtful_settings(settings: Settings, now: datetime | None = None) -> list[tuple[KeyPath, str]]:
    """Settings that load but probably do not do what was meant."""
    doubts: list[tuple[KeyPath, str]] = []
    if settings.launch_conference and settings.trueconf is None:
        doubts.append(
            (("launchConference",), "is true, but there is no trueconf section, so no conference can be started")
        )
    if not settings.product_whitelist.tcs:
        doubts.append((("productWhitelist",), "no TrueConf Server ID is listed in tcs, so no server can connect"))
    allowed = {server_id.lower() for server_id in settings.product_whitelist.tcs}
    for server_id in settings.api.secrets:
        if server_id.lower() not in allowed:
            doubts.append((("api", "secrets", server_id), "this server ID is not in productWhitelist.tcs"))
    for index, provider in enumerate(settings.calendar_providers):
        if isinstance(provider, GraphProviderSettings):
            doubts.extend(_doubtful_graph_settings(index, provider, now or datetime.now(UTC)))
    users = sum(len(provider.users) for provider in settings.calendar_providers)
    if settings.account_limit is not None and users > settings.account_limit:
        doubts.append(
            (("accountLimit",), f"{users} users are listed; only the first {settings.account_limit} are synchronized")
        )
    return doubts


def _doubtful_graph_settings(
    index: int, provider: GraphProviderSettings, now: datetime
) -> list[tuple[KeyPath, str]]:
    doubts: list[tuple[KeyPath, str]] = []
    where: KeyPath = ("calendarProviders", index)
    if provider.certificate is not None:
        try:
            credential = read_certificate_credential(provider.certificate.path)
        except CertificateFileError as exc:  # changed since validation a moment ago
            doubts.append(((*where, "certificate", "file"), exc.reason))
        else:
            expiry = credential.not_valid_after.date().isoformat()
            if credential.is_expired(now):
                doubts.append(((*where, "certificate"), f"the certificate expired on {expiry}; Microsoft Entra "
                               "refuses it: upload a new certificate to the app registration and set file and "
                               "thumbprint"))
            elif credential.not_valid_after - now < CERTIFICATE_RENEWAL_NOTICE:
                doubts.append(((*where, "certificate"), f"the certificate expires on {expiry}; upload its "
                               "successor to the app registration and set file and thumbprint before then"))
            elif credential.not_valid_before > now:
                doubts.append(((*where, "certificate"), "the certificate is not valid before "
                               f"{credential.not_valid_before.date().isoformat()}"))
    if provider.notification_url is not None and provider.notification_url.startswith("http://"):
        doubts.append(((*where, "notificationUrl"), "is http://, which only a local simulator accepts; Microsoft "
                       "Graph delivers notifications to https:// URLs only"))
    return doubts


def find_unknown_keys(settings: BaseModel, path: KeyPath = ()) -> list[tuple[KeyPath, str]]:
    """Keys the file has that no setting reads, each with a hint when it looks like a misspelt known key."""
    found: list[tuple[KeyPath, str]] = []
    fields = type(settings).model_fields
    known = [field.alias or name for name, field in fields.items()]
    for key in settings.model_extra or {}:
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        found.append(((*path, key), f"unknown key, ignored{hint}"))
    for name, field in fields.items():
        value = getattr(settings, name)
        where = (*path, field.alias or name)
        if isinstance(value, BaseModel):
            found.extend(find_unknown_keys(value, where))
        elif isinstance(value, tuple):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    found.extend(find_unknown_keys(item, (*where, index)))
    return found
