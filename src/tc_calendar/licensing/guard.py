"""The running service's side of licensing: read the licence, check in (free edition), decide, remember.

:class:`LicenceGuard` is the I/O around :func:`tc_calendar.licensing.enforcement.decide`: it re-reads the licence
file on every round (so ``--register`` while the service runs takes effect without a restart), checks in with the
registration server, persists what it learned in ``license.state.json`` beside the licence (when this installation
first ran, the last successful check-in, the current status line — a restart must not reset the grace period, and
``tc_calendar status`` shows the line), and tells the service when synchronization must pause or may resume.
Time comes from an injectable clock so the grace period is tested exactly.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from tc_calendar.clocks import WallClock, utc_now
from tc_calendar.licensing.client import RegistrationClient
from tc_calendar.licensing.enforcement import CHECK_IN_INTERVAL, GRACE_PERIOD, LicenceStatus, Standing, decide
from tc_calendar.licensing.errors import LicenceError, RegistrationError, RegistrationServerUnreachable
from tc_calendar.licensing.licence import Edition, Licence
from tc_calendar.licensing.registration import Installation, load_licence, write_atomically
from tc_calendar.runtime import repeat

log = logging.getLogger("tc_calendar.licensing")

WARNING_REMINDER = timedelta(days=1)
"""How often an unchanged grace-period warning is logged again."""

StatusHook = Callable[[LicenceStatus], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class CheckInRecord:
    """What ``license.state.json`` holds."""

    first_started: datetime
    last_check_in: datetime | None = None
    last_error: str | None = None
    standing: str | None = None
    message: str | None = None


def state_file_of(installation: Installation) -> Path:
    licence = installation.licence_file
    return licence.with_name(f"{licence.stem}.state.json")


def read_record(path: Path) -> CheckInRecord | None:
    """The saved record, or ``None`` when there is none (or it is unreadable: it is rebuilt)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return CheckInRecord(
            first_started=datetime.fromisoformat(data["firstStarted"]),
            last_check_in=datetime.fromisoformat(data["lastCheckIn"]) if data.get("lastCheckIn") else None,
            last_error=data.get("lastError"),
            standing=data.get("standing"),
            message=data.get("message"),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        log.warning("%s is unreadable; starting a new licence state record", path)
        return None


def write_record(path: Path, record: CheckInRecord) -> None:
    """Save the record; a directory the service cannot write to costs the record (logged), never the service."""
    try:
        _write_record(path, record)
    except OSError as exc:
        log.warning("cannot save the licence state to %s (%s): a restart will not remember the last check-in",
                    path, exc.strerror or exc)


def _write_record(path: Path, record: CheckInRecord) -> None:
    write_atomically(path, json.dumps({
        "firstStarted": record.first_started.isoformat(),
        "lastCheckIn": record.last_check_in.isoformat() if record.last_check_in else None,
        "lastError": record.last_error,
        "standing": record.standing,
        "message": record.message,
    }, indent=2) + "\n")


class LicenceGuard:
    """One installation's licence while the service runs."""

    def __init__(
        self,
        installation: Installation,
        *,
        configured_limit: int | None = None,
        client: RegistrationClient | None = None,
        clock: WallClock = utc_now,
        interval: timedelta = CHECK_IN_INTERVAL,
        grace: timedelta = GRACE_PERIOD,
    ) -> None:
        self._installation = installation
        self._configured_limit = configured_limit
        self._client = client or RegistrationClient(installation.server)
        self._clock = clock
        self._interval = interval
        self._grace = grace
        self._state_file = state_file_of(installation)
        self._record = read_record(self._state_file) or CheckInRecord(first_started=clock())
        self.status: LicenceStatus | None = None
        self._last_warning: tuple[str, datetime] | None = None

    def open(self) -> LicenceStatus:
        """The status at start. A licence file that cannot be trusted stops the service (:class:`LicenceError`):
        the administrator must restore it, register again, or remove it to run unregistered."""
        licence = load_licence(self._installation, self._clock())
        return self._conclude(licence, check_in_error=None)

    async def check(self) -> LicenceStatus:
        """One round: re-read the licence, check in if it is the free edition, decide, save, log."""
        now = self._clock()
        try:
            licence = load_licence(self._installation, now)
        except LicenceError as exc:
            return self._refused(str(exc))
        error = None
        if licence is not None and licence.edition is Edition.FREE:
            try:
                renewed = await self._client.check_in(licence.product_key, self._installation.fingerprint)
            except (RegistrationServerUnreachable, RegistrationError) as exc:
                error = str(exc)
            else:
                self._record = CheckInRecord(self._record.first_started, self._clock())
                if renewed is not None:
                    licence = self._install_renewal(renewed, licence)
        return self._conclude(licence, check_in_error=error)

    def _install_renewal(self, text: str, current: Licence) -> Licence:
        """Keep a renewed licence from a check-in when it verifies and is for the same key; else keep ours."""
        try:
            renewed = self._installation.verify(text, self._clock(), "the renewed licence from the check-in")
        except LicenceError as exc:
            log.warning("licence: %s; keeping the installed licence", exc)
            return current
        if renewed.product_key != current.product_key:
            log.warning("licence: the check-in answered with a licence for another key; keeping the installed one")
            return current
        write_atomically(self._installation.licence_file, text)
        return renewed

    async def run(self, stop: asyncio.Event, on_change: StatusHook) -> None:
        """Check now, then every ``interval`` until ``stop`` is set; ``on_change`` hears when synchronization must
        pause or may resume, or its account limit changed (a licence registered while running). The first
        check-in runs here, not in :meth:`open`, so a registration server that does not answer never delays the
        service's start."""

        async def check() -> None:
            before = self.status
            status = await self.check()
            if before is None or before.sync_allowed != status.sync_allowed or (
                status.sync_allowed and before.account_limit != status.account_limit
            ):
                await on_change(status)

        await repeat(check, what="the licence check", log=log, interval=self._interval.total_seconds(), stop=stop)

    def _conclude(self, licence: Licence | None, *, check_in_error: str | None) -> LicenceStatus:
        status = decide(
            licence, now=self._clock(), first_started=self._record.first_started,
            last_check_in=self._record.last_check_in, configured_limit=self._configured_limit, grace=self._grace,
        )
        return self._remember(status, check_in_error)

    def _refused(self, reason: str) -> LicenceStatus:
        status = LicenceStatus(Edition.FREE, True, Standing.PAUSED, None, None,
                               f"{reason}; synchronization is paused")
        return self._remember(status, None)

    def _remember(self, status: LicenceStatus, check_in_error: str | None) -> LicenceStatus:
        self._record = CheckInRecord(self._record.first_started, self._record.last_check_in,
                                     check_in_error, status.standing.value, status.message)
        write_record(self._state_file, self._record)
        if status.standing is Standing.PAUSED:
            log.error("licence: %s", status.message)
        elif status.standing is Standing.GRACE:
            self._warn(f"licence: {status.message}" + (f" ({check_in_error})" if check_in_error else ""))
        elif self.status is None or self.status.standing is not Standing.LICENSED:
            log.info("licence: %s", status.message)
        self.status = status
        return status


    def _warn(self, message: str) -> None:
        """Warn about the grace period when its message changes, and as a reminder once a day: the check at start
        and the first check-in right after it would otherwise say the same thing twice."""
        now = self._clock()
        if self._last_warning is not None:
            last_message, warned_at = self._last_warning
            if last_message == message and now - warned_at < WARNING_REMINDER:
                return
        log.warning("%s", message)
        self._last_warning = (message, now)


def licence_status_line(
    installation: Installation, now: datetime | None = None, *, configured_limit: int | None = None
) -> str:
    """``tc_calendar status``'s licence line: what the service last saved, unless a licence was installed
    (``--register``, ``--offline_reg``) after that; then that licence, as the service will see it."""
    state_file = state_file_of(installation)
    record = read_record(state_file)
    if _installed_since(installation.licence_file, state_file if record is not None else None):
        moment = now or utc_now()
        try:
            licence = load_licence(installation, moment)
        except LicenceError as exc:
            return f"Licence: {exc}; the service pauses synchronization until it is fixed"
        if licence is not None:
            status = decide(
                licence, now=moment, first_started=record.first_started if record else moment,
                last_check_in=record.last_check_in if record else None, configured_limit=configured_limit,
            )
            paused = " — SYNCHRONIZATION PAUSED" if status.standing is Standing.PAUSED else ""
            return f"Licence: {status.message}{paused} (installed since the service last checked; it applies the " \
                   "licence within an hour, or when it starts)"
    if record is None or record.message is None:
        return "Licence: not checked yet (the service has not run)"
    paused = " — SYNCHRONIZATION PAUSED" if record.standing == Standing.PAUSED.value else ""
    return f"Licence: {record.message}{paused}"


def _installed_since(licence_file: Path, state_file: Path | None) -> bool:
    """Whether the licence file is newer than the service's last record of it (or there is no record)."""
    try:
        installed = licence_file.stat().st_mtime_ns
    except OSError:
        return False
    if state_file is None:
        return True
    try:
        return installed > state_file.stat().st_mtime_ns
    except OSError:
        return True
