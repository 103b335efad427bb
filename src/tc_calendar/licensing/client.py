"""The registration server over HTTP (httpx): register a key, check in.

Protocol (JSON over HTTPS, default ``https://reg.trueconf.com:4310``):

* ``POST /api/v1/register`` ``{"productKey", "fingerprint", "product", "version"}`` → ``200 {"licence": "<licence
  file text>"}``, or ``4xx {"error": "<reason>"}`` when the key is refused;
* ``POST /api/v1/checkin`` ``{"productKey", "fingerprint"}`` → ``200 {"status": "ok", "licence"?: "<renewed
  licence file text>"}``, or ``4xx {"error"}``.

No answer at all (connection refused, timeout, TLS failure) and ``5xx`` answers are
:class:`RegistrationServerUnreachable`: that is what sends ``--register`` to the offline path. A ``4xx`` is a
:class:`RegistrationError` carrying the server's reason.
"""

from __future__ import annotations

from typing import Any

import httpx

from tc_calendar import __version__
from tc_calendar.licensing.errors import RegistrationError, RegistrationServerUnreachable
from tc_calendar.licensing.licence import PRODUCT

DEFAULT_TIMEOUT = 15.0


class RegistrationClient:
    """One registration server. ``transport`` lets tests answer at the HTTP level without a socket."""

    def __init__(self, server: str, *, timeout: float = DEFAULT_TIMEOUT,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.server = server.rstrip("/")
        self._timeout = timeout
        self._transport = transport

    async def register(self, product_key: str, fingerprint: str) -> str:
        """The licence file text the server issues for ``product_key`` on this installation."""
        answer = await self._post("/api/v1/register", {
            "productKey": product_key, "fingerprint": fingerprint, "product": PRODUCT, "version": __version__,
        })
        licence = answer.get("licence")
        if not isinstance(licence, str):
            raise RegistrationError(f"the registration server {self.server} answered without a licence")
        return licence

    async def check_in(self, product_key: str, fingerprint: str) -> str | None:
        """Tell the server this installation is alive; raises when the server refuses or cannot be reached.

        The answer may carry a renewed licence (its text), so a free licence does not expire while in touch."""
        answer = await self._post("/api/v1/checkin", {"productKey": product_key, "fingerprint": fingerprint})
        licence = answer.get("licence")
        return licence if isinstance(licence, str) else None

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = self.server + path
        try:
            async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as client:
                response = await client.post(url, json=body)
        except httpx.HTTPError as exc:
            raise RegistrationServerUnreachable(
                f"the registration server {self.server} cannot be reached: {_reason(exc)}"
            ) from exc
        if response.status_code >= 500:
            raise RegistrationServerUnreachable(
                f"the registration server {self.server} is not working (HTTP {response.status_code})"
            )
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise RegistrationError(
                f"the registration server {self.server} sent an unexpected answer (HTTP {response.status_code}); "
                f"check registration.server in config.json"
            )
        if response.status_code >= 400:
            reason = answer.get("error") or f"HTTP {response.status_code}"
            raise RegistrationError(f"the registration server {self.server} refused: {reason}")
        return answer


def _reason(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())
