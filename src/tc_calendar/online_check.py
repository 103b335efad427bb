"""``tc_calendar check-config --online``: ask each calendar provider whether it accepts the configured identity.

A config can be valid and still be refused: a tenant ID from another directory, a client secret copied from its
Secret ID column, a certificate never uploaded, a firewall in the way. This check finds out before the service
starts, and says what to change, with the same messages the service would log.

* Graph: one token request per provider (the same code the service uses), which proves the tenant, the client
  id and the secret or certificate. It does not prove the ``Calendars.Read`` permission or the Application
  Access Policy: those are per mailbox and show in ``tc_calendar status``.
* EWS: per service account, one GetFolder of the calendar of the first mailbox it serves, by impersonation: it
  proves the password and the impersonation right on that mailbox, reads no item and changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from tc_calendar.config import Settings
from tc_calendar.config.loader import provider_label
from tc_calendar.config.models import CalendarProvider, GraphProviderSettings, ProviderSettings
from tc_calendar.errors import TcCalendarError


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    message: str


class OnlineCheckFailedError(TcCalendarError):
    """At least one provider refused the configured identity or could not be reached."""

    exit_code = 1


async def check_providers(providers: Sequence[ProviderSettings]) -> list[CheckResult]:
    """One or more results per provider, in the order of the file; providers are checked concurrently."""
    checks = [_check(index, provider) for index, provider in enumerate(providers)]
    return [result for results in await asyncio.gather(*checks) for result in results]


async def _check(index: int, provider: ProviderSettings) -> list[CheckResult]:
    label = provider_label(index, provider)
    if isinstance(provider, GraphProviderSettings):
        return [await _check_graph(label, provider)]
    return await asyncio.to_thread(_check_ews, label, provider)


async def _check_graph(label: str, provider: GraphProviderSettings) -> CheckResult:
    from tc_calendar.providers.base import AuthError
    from tc_calendar.providers.graph_auth import GraphTokenSource

    source = GraphTokenSource.from_settings(provider, label=label)
    try:
        await source.access_token()
    except AuthError as exc:
        return CheckResult(False, str(exc))
    finally:
        source.close()
    how = "certificate " + provider.certificate.thumbprint if provider.certificate else "client secret"
    return CheckResult(
        True,
        f"{label}: Microsoft Entra at {source.endpoints.authority_host} issued a token for "
        f"{source.endpoints.scope} to application {provider.client_id} with its {how}",
    )


def _check_ews(label: str, provider: CalendarProvider) -> list[CheckResult]:
    """Runs in a worker thread: exchangelib is blocking."""
    from tc_calendar.addresses import pick_credential
    from tc_calendar.providers._ews_errors import map_error
    from tc_calendar.providers._ews_session import EndpointSettings, ServiceAccount

    endpoint = EndpointSettings(
        url=provider.url,
        auth=provider.auth,
        verify_tls=provider.verify_tls,
        ca_bundle=provider.ca_bundle,
        timeout_seconds=provider.timeout_seconds,
        max_concurrency=1,
        server_version=provider.exchange_version,
    )
    results: list[CheckResult] = []
    for index, credential in enumerate(provider.credentials):
        mailbox = next(
            (user for user in provider.users if pick_credential(user, len(provider.credentials)) == index), None
        )
        if mailbox is None:
            results.append(CheckResult(True, f"{label}: service account {credential.login!r} serves no mailbox; "
                                             "not checked"))
            continue
        account = ServiceAccount(endpoint, credential.login, credential.password.get_secret_value())
        try:
            account.account(mailbox).calendar  # noqa: B018  # one GetFolder, by impersonation: the check itself
        except Exception as exc:
            error = map_error(exc, mailbox=mailbox, login=credential.login, endpoint=provider.url)
            results.append(CheckResult(False, f"{label}: {error}"))
        else:
            results.append(CheckResult(True, f"{label}: service account {credential.login!r} opened the calendar "
                                             f"of {mailbox} at {provider.url}"))
        finally:
            account.close()
    return results


def run(settings: Settings) -> int:
    """Print one line per check after the summary; fail (exit 1) when any check failed."""
    results = asyncio.run(check_providers(settings.calendar_providers))
    for result in results:
        print(f"online check: {'ok' if result.ok else 'FAILED'}: {result.message}")
    if not results:
        print("online check: no calendar provider to check")
    failed = sum(not result.ok for result in results)
    if failed:
        raise OnlineCheckFailedError(
            f"tc_calendar: the online check failed ({failed} of {len(results)} checks); see the lines above"
        )
    return 0
