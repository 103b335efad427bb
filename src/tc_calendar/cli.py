"""The ``tc_calendar`` command.

The seed's flags keep their spelling and messages (``--hash_pass``, ``--register``, ``--offline_reg``); our
commands are subcommands (``check-config``, ``db``, ``run``, ``status``, ``demo``). With no command the service
runs, as the seed's service unit starts it. Every failure ends as one line on stderr and a non-zero exit code,
never a traceback: errors we raise on purpose carry their own message (:class:`TcCalendarError`); anything else
is logged with its traceback at debug level and summarised in one line.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, cast

from tc_calendar import __version__
from tc_calendar.config import Settings, load_settings, read_document, resolve_config_path, resolve_key_file
from tc_calendar.config.loader import key_file_setting_of
from tc_calendar.config.models import GraphProviderSettings, ProviderSettings
from tc_calendar.crypto import SecretBox
from tc_calendar.errors import ConfigError, TcCalendarError
from tc_calendar.logging_setup import LEVELS, Redactor, configure_logging

log = logging.getLogger("tc_calendar.cli")


class UnavailableError(TcCalendarError):
    """A command or flag this installation cannot carry out (a part not built yet, or not installed)."""

    exit_code = 2


class UsageError(TcCalendarError):
    """The command line asks for something that cannot be meant as written."""

    exit_code = 2


COMMANDS = ("check-config", "db", "run", "status", "api-secret", "demo")


class _Parser(argparse.ArgumentParser):
    """Reports usage mistakes in one line, like every other error of the command."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tc_calendar", description="Microsoft Exchange calendars for TrueConf Server.")
    parser.add_argument("--version", action="version", version=f"tc_calendar {__version__}")
    _add_common_options(parser, default=None)
    seed = parser.add_mutually_exclusive_group()
    seed.add_argument(
        "--hash_pass", nargs="+", metavar="PASSWORD",
        help="encrypt passwords for config.json; prints one 'Your encrypted data: ...' line per password, in order",
    )
    seed.add_argument("--register", metavar="KEY", help="register the product online with a registration key")
    seed.add_argument("--offline_reg", metavar="FILE", help="register the product with an offline registration file")

    common = _Parser(add_help=False)
    _add_common_options(common, default=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    check = commands.add_parser("check-config", parents=[common], help="validate config.json and print a summary")
    check.add_argument(
        "--online", action="store_true",
        help="also ask each calendar provider to accept the configured identity: a token request per Graph "
             "provider, a calendar folder lookup per EWS service account",
    )
    db = commands.add_parser("db", parents=[common], help="create or migrate the database schema")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True, parser_class=_Parser)
    upgrade = db_commands.add_parser("upgrade", parents=[common], help="migrate the schema to a revision")
    upgrade.add_argument("--revision", default="head", help="target revision (default: head)")
    downgrade = db_commands.add_parser("downgrade", parents=[common], help="migrate the schema back to a revision")
    downgrade.add_argument("revision", help="target revision, e.g. -1 or base")
    commands.add_parser("run", parents=[common], help="run the connector service (the default)")
    commands.add_parser("status", parents=[common], help="show the state of the service and its mailboxes")
    commands.add_parser("api-secret", parents=[common],
                        help="print the shared secret TrueConf Server must use for the WebSocket API")
    # The demo parses its own options (and --help), so that they are listed where they are defined.
    commands.add_parser("demo", add_help=False, help="run the connector against the simulators, with the web "
                        "calendar (see tc_calendar demo --help)")
    return parser


def _add_common_options(parser: argparse.ArgumentParser, *, default: object) -> None:
    """Options accepted both before and after the command (``--config X check-config`` and the reverse)."""
    parser.add_argument("--config", type=Path, metavar="PATH", default=default,
                        help="config.json (default: $TC_CALENDAR_CONFIG, else "
                             "/opt/trueconf/calendar/etc/calendar/config.json)")
    parser.add_argument("--key-file", type=Path, metavar="PATH", default=default,
                        help="key file for encrypted values (default: $TC_CALENDAR_KEY_FILE, else keyFile from "
                             "config.json, else calendar.key beside config.json)")
    parser.add_argument("--log-level", choices=sorted(LEVELS), default=default,
                        help="log level (default: logLevel from config.json, else info)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # Arguments the demo command does not know belong to the demo itself (argparse's REMAINDER rejects "--x").
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "demo":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.demo_args = extra
    redactor = configure_logging(args.log_level or "info")
    try:
        return _dispatch(args, redactor)
    except ConfigError as exc:
        for problem in exc.problems:  # every problem of the file, one line each
            _print_error(problem.render_line(), redactor)
        return exc.exit_code
    except TcCalendarError as exc:
        _print_error(str(exc), redactor)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _reader_went_away()
    except Exception as exc:
        log.debug("unexpected error", exc_info=True)
        _print_error(
            f"tc_calendar: unexpected error: {type(exc).__name__}: {exc} (run with --log-level debug for details)",
            redactor,
        )
        return 1


def _reader_went_away() -> int:
    """``tc_calendar status | head``: the reader stopped reading. Nothing is wrong, and Python must not complain
    when it flushes stdout at exit either; exit as a program killed by SIGPIPE does in a shell."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + signal.SIGPIPE


def _print_error(message: str, redactor: Redactor) -> None:
    print(redactor.redact(" ".join(message.split())), file=sys.stderr)


def _dispatch(args: argparse.Namespace, redactor: Redactor) -> int:
    if args.command is not None and (args.hash_pass or args.register or args.offline_reg):
        raise UnavailableError(f"tc_calendar: --hash_pass, --register and --offline_reg cannot be combined "
                               f"with the {args.command} command")
    if args.hash_pass:
        return hash_passwords(args.hash_pass, config=args.config, key_file=args.key_file)
    if args.register is not None:
        return _entry_point("tc_calendar.licensing.commands", "register", "--register")(args.register, args.config)
    if args.offline_reg is not None:
        offline_register = _entry_point("tc_calendar.licensing.commands", "offline_register", "--offline_reg")
        return offline_register(Path(args.offline_reg), args.config)
    if args.command == "demo":
        demo_main = _entry_point("tc_calendar.demo", "main", "demo")
        return demo_main(list(args.demo_args))
    settings = load_settings(args.config, key_file=args.key_file)
    if args.command == "check-config":
        print(summarise(settings), flush=True)
        if not args.online:
            return 0
        redactor.add(settings.secret_values())
        configure_logging(args.log_level or "warning", secrets=settings.secret_values())
        return _entry_point("tc_calendar.online_check", "run", "check-config --online")(settings)
    redactor.add(settings.secret_values())
    configure_logging(args.log_level or settings.log_level, settings.log_format, secrets=settings.secret_values())
    if args.command in ("db", "status", "api-secret"):
        return _with_database_errors_explained(settings, lambda: _database_command(args, settings))
    run = _entry_point("tc_calendar.service", "run", "run")
    return _with_database_errors_explained(settings, lambda: run(settings))


def _database_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "db":
        migrate = _entry_point("tc_calendar.store.migrate", args.db_command, f"db {args.db_command}")
        migrate(settings.database_url, args.revision)
        print(f"database schema is now at revision {args.revision}")
        return 0
    if args.command == "status":
        return _entry_point("tc_calendar.status", "show", "status")(settings)
    return _entry_point("tc_calendar.api.secret", "show", "api-secret")(settings)


def _with_database_errors_explained(settings: Settings, command: Callable[[], int]) -> int:
    """Run a command that uses the database; a failure to reach it names the settings to check."""
    from tc_calendar.database_access import DatabaseNotInitializedError, DatabaseUnavailableError, explain_failure

    try:
        return command()
    except (DatabaseNotInitializedError, DatabaseUnavailableError, BrokenPipeError, KeyboardInterrupt):
        raise
    except Exception as exc:  # the store's DatabaseError too: its message is the driver's
        explained = explain_failure(settings, exc)
        if explained is None:
            raise
        raise explained from exc


def _entry_point(module_name: str, function: str, command: str) -> Callable[..., int]:
    """Import ``module_name`` only when its command is used, so a missing part fails that command alone."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing == module_name or (missing.startswith("tc_calendar") and module_name.startswith(missing + ".")):
            raise UnavailableError(
                f"tc_calendar: the {command} command is not available in this installation "
                f"(module {module_name} is missing)"
            ) from exc
        raise UnavailableError(
            f"tc_calendar: the {command} command needs the Python package {missing!r}, which is not installed"
        ) from exc
    entry = getattr(module, function, None)
    if not callable(entry):
        raise UnavailableError(
            f"tc_calendar: the {command} command is not available in this installation "
            f"({module_name}.{function} is missing)"
        )
    return cast("Callable[..., int]", entry)


def hash_passwords(passwords: Sequence[str], *, config: Path | None, key_file: Path | None) -> int:
    """``--hash_pass``: print one token per password, in order, in the seed's words (on stdout, so scripts can
    read them); which key file encrypted them, and whether it was just created, goes to stderr.

    ``--hash_pass`` takes every word after it, so ``--hash_pass pw check-config`` would encrypt the command's
    name: a command name among the passwords is refused instead."""
    for password in passwords:
        if password in COMMANDS:
            raise UsageError(
                f"tc_calendar: {password!r} is a command, not a password: --hash_pass encrypts every word after it "
                f"and cannot be combined with a command; run tc_calendar {password} on its own"
            )
    path = _key_file_for_hashing(config, key_file)
    existed = path.exists()
    box = SecretBox.load_or_create(path)
    for password in passwords:
        print(f"Your encrypted data: {box.encrypt(password)}")
    if existed:
        print(f"tc_calendar: encrypted with the key file {path}", file=sys.stderr)
    else:
        print(f"tc_calendar: created the key file {path} (mode 0600); keep it with config.json: without it these "
              "values cannot be decrypted" + _owner_note(path), file=sys.stderr)
    return 0


def _owner_note(key_file: Path) -> str:
    """Created by root, the key file is root's alone: the service's own user could not read it."""
    if os.geteuid() != 0:
        return ""
    return (f"; it belongs to root, so if the service runs as another user give it that file "
            f"(chown tc-calendar: {key_file})")


def _key_file_for_hashing(config: Path | None, key_file: Path | None) -> Path:
    """The key file the service will use with this config: the config need not exist yet, nor be valid."""
    config_path = resolve_config_path(config)
    setting = None
    if key_file is None and config_path.exists():
        try:
            setting = key_file_setting_of(read_document(config_path))
        except ConfigError as exc:
            log.warning("%s; using the default key file location", exc)
    return resolve_key_file(config_path, key_file=key_file, key_file_setting=setting)


def summarise(settings: Settings) -> str:
    """What ``check-config`` prints: everything an administrator wants to confirm, and never a secret."""
    yes_no = {True: "true", False: "false"}
    lines = [
        f"config: {settings.config_path} is valid",
        f"key file: {settings.key_file}",
        f"WebSocket API: {settings.api.host}:{settings.ws_port}, TLS "
        + ("on" if settings.api.tls_cert else "off")
        + f", peer secret: {'set' if settings.api.secret else 'not set'}"
        + (f", {len(settings.api.secrets)} per-server secrets" if settings.api.secrets else ""),
        "allowed TrueConf Servers (productWhitelist.tcs): " + (", ".join(settings.product_whitelist.tcs) or "none"),
    ]
    db = settings.db_connection_config
    if db is None:
        lines.append(f"database: sqlite, file {settings.sqlite_file}")
    else:
        password = "with a password" if db.password.get_secret_value() else "without a password"
        lines.append(f"database: postgresql, {db.host}:{db.port}, database {db.database}, user {db.user} {password}")
    lines.append(
        f"cache: autoSync {yes_no[settings.cache.auto_sync]}, {settings.cache.backward} months back, "
        f"{settings.cache.forward} months ahead"
    )
    lines.append(
        f"launch: launchConference {yes_no[settings.launch_conference]}, temporalConfParticipantsMode "
        f"{yes_no[settings.temporal_conf_participants_mode]}, graceMinutes {settings.launch.grace_minutes}"
    )
    tc = settings.trueconf
    if tc is None:
        lines.append("TrueConf Server REST API: not configured")
    else:
        how = f"OAuth2 client {tc.client_id}" if tc.client_id else "static token"
        lines.append(f"TrueConf Server REST API: {tc.url}, API {tc.api_version}, {how}, "
                     f"TLS verification {'on' if tc.verify_tls else 'off'}, {len(tc.user_map)} mapped users")
    for index, provider in enumerate(settings.calendar_providers):
        lines.append(f"calendarProviders[{index}]: {_describe_provider(provider)}")
    if not settings.calendar_providers:
        lines.append("calendarProviders: none")
    lines.append(f"link rules: {len(settings.link_rules)} configured, then the built-in rules")
    lines.append(f"web calendar sign-in: {len(settings.web.users)} users")
    limit = "set by the licence (free edition and unregistered: 50)"
    if settings.account_limit is not None:
        limit = f"{settings.account_limit} (accountLimit; a licence with a lower limit wins)"
    lines.append(f"account limit: {limit}")
    lines.append(f"logging: {settings.log_level}, {settings.log_format}")
    return "\n".join(lines)


def _describe_provider(provider: ProviderSettings) -> str:
    """One ``check-config`` line per provider: where it connects, as whom, and how many users (no secret)."""
    users = f"{len(provider.users)} user{'s' if len(provider.users) != 1 else ''}"
    tls = f"TLS verification {'on' if provider.verify_tls else 'off'}"
    if isinstance(provider, GraphProviderSettings):
        from tc_calendar.providers.graph_auth import GraphEndpoints

        endpoints = GraphEndpoints.from_settings(provider)
        if provider.certificate is not None:
            credential = f"certificate {provider.certificate.thumbprint}"
        else:
            credential = "client secret"
        if provider.notification_url:
            changes = f"change notifications at {provider.notification_url}"
        else:
            changes = f"polling every {provider.poll_interval_seconds:g} s"
        return (
            f"graph tenant {provider.tenant_id}, cloud {provider.cloud} (sign-in {endpoints.authority_host}, "
            f"Graph {endpoints.graph_host}), application {provider.client_id} with a {credential}, {users}, "
            f"{changes}, reconcile every {provider.reconcile_minutes:g} min, {tls}, "
            f"maxConcurrency {provider.max_concurrency}"
        )
    logins = ", ".join(credential.login for credential in provider.credentials)
    return (
        f"{provider.type} {provider.url}, {len(provider.credentials)} "
        f"credential{'s' if len(provider.credentials) != 1 else ''} ({logins}), {users}, auth {provider.auth}, "
        f"{tls}, maxConcurrency {provider.max_concurrency}"
    )
