"""Find, read and check ``config.json``; the only part of the config package that touches files.

Path resolution: ``--config PATH``, else ``$TC_CALENDAR_CONFIG``, else the seed's
``/opt/trueconf/calendar/etc/calendar/config.json``. Key file resolution: ``--key-file``, else
``$TC_CALENDAR_KEY_FILE``, else ``keyFile`` from the config, else ``calendar.key`` beside the config.

Every problem becomes a line of one :class:`ConfigError` naming the file, the line, the key path and what was
expected; all problems are reported at once. An unknown key that is a misspelling of a known one is an error (it
would silently leave that setting at its default); other unknown keys are logged as warnings.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import ValidationError

from tc_calendar._jsonc import Document, DuplicateKeyError, JsoncSyntaxError, KeyPath, parse
from tc_calendar.config._messages import error_message, error_path, key_path_text
from tc_calendar.config._types import DECRYPTOR_CONTEXT_KEY
from tc_calendar.config._unknown_keys import UnknownKey, find_unknown_keys
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
    """Validate a parsed document; the key file is opened only if an encrypted value needs it.

    Every problem is reported at once (:class:`ConfigError` with one line per problem); warnings are logged only
    when the file can be used."""
    boxes: list[SecretBox] = []

    def decrypt(token: str) -> str:
        if not boxes:
            boxes.append(SecretBox.load(key_file))
        return boxes[0].decrypt(token)

    context = {DECRYPTOR_CONTEXT_KEY: decrypt, CONFIG_PATH_CONTEXT_KEY: config_path, KEY_FILE_CONTEXT_KEY: key_file}
    unknown = find_unknown_keys(document.value, Settings)
    misspelt = [key for key in unknown if key.misspelling_of is not None]
    try:
        settings = Settings.model_validate(document.value, context=context)
    except ValidationError as exc:
        missing = {error_path(error) for error in exc.errors() if error["type"] == "missing"}
        misspelt_missing = missing & {key.meant for key in misspelt}  # reported at their misspelling
        problems = misspelling_problems(document, misspelt, missing)
        problems += [
            (document.position_of(error_path(error)).line, error_path(error), error_message(error))
            for error in exc.errors()
            if not (error["type"] == "missing" and error_path(error) in misspelt_missing)
        ]
        raise _all_problems(config_path, problems) from None
    problems = misspelling_problems(document, misspelt, set())
    problems += [(document.position_of(path).line, path, message) for path, message in check_consistency(settings)]
    if problems:
        raise _all_problems(config_path, problems)
    for key in unknown:  # none of them misspelt: that raised above
        hint = f" (did you mean {key.suggestion}?)" if key.suggestion else ""
        line = document.key_position_of(key.path).line
        log.warning("config warning: %s line %d: %s: unknown key, ignored%s", config_path, line,
                    key_path_text(key.path), hint)
    for path, message in find_doubtful_settings(settings):
        line = document.position_of(path).line
        log.warning("config warning: %s line %d: %s: %s", config_path, line, key_path_text(path), message)
    return settings


Problem = tuple[int, KeyPath, str]
"""A problem's line, key path and message."""


def misspelling_problems(document: Document, misspelt: list[UnknownKey], missing: set[KeyPath]) -> list[Problem]:
    """An error for each misspelt key; one that stands for a ``missing`` required key says so, and the missing
    key is not reported again."""
    problems: list[Problem] = []
    for key in misspelt:
        message = f"unknown key; did you mean {key.misspelling_of}?"
        if key.meant in missing:
            message += " (a required key, missing here)"
        elif key.key.lower() == str(key.misspelling_of).lower():
            message += " (key names are case-sensitive)"
        problems.append((document.key_position_of(key.path).line, key.path, message))
    return problems


def _all_problems(config_path: Path, problems: list[Problem]) -> ConfigError:
    """One error that reports every problem, in the order they come in the file."""
    errors = [
        ConfigError(message, file=config_path, line=line, key_path=key_path_text(path) or None)
        for line, _, path, message in sorted(
            (line, index, path, message) for index, (line, path, message) in enumerate(problems)
        )
    ]
    first = errors[0]
    return ConfigError(first.problem, file=config_path, line=first.line, key_path=first.key_path, more=errors[1:])


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

