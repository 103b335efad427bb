"""TLS verification that a provider's settings decide, for every ``requests`` session a provider builds."""

from __future__ import annotations

from typing import Any

import requests.adapters


class PolicyAdapter(requests.adapters.HTTPAdapter):
    """Verifies certificates as the provider says, whatever ``REQUESTS_CA_BUNDLE`` says.

    requests lets the environment's CA bundle override ``Session.verify``; the adapter is the last word.
    ``timeout`` (seconds), when given, applies to requests sent without one of their own.
    """

    def __init__(self, verify: bool | str, *, timeout: float | None = None, **kwargs: Any) -> None:
        self._verify = verify
        self._timeout = timeout
        super().__init__(**kwargs)

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["verify"] = self._verify
        if self._timeout is not None and kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, *args, **kwargs)
