"""A ``requests`` session whose plain requests skip merging the session's settings into a new request each time.

exchangelib sends every EWS request as ``session.post(url=, headers=, data=<bytes>, allow_redirects=False,
timeout=, stream=)``. For each, ``Session.request`` builds a ``Request``, then merges the session's headers, params,
auth, hooks, proxies, stream, verify and cert into it one setting at a time (each merge an ``isinstance`` against a
runtime-checkable protocol), copies the cookie jar twice and parses the URL again: about a fifth of the CPU a POST
costs the connector, measured against a local server (``bench/ews_post.py``). For exactly that call this session
builds the same ``PreparedRequest`` directly (the endpoint's URL prepared once) and hands it to ``Session.send``
unchanged, so authentication hooks (NTLM's handshake), cookies and response handling stay requests' own. Any other
call takes requests' own path.
"""

from __future__ import annotations

from typing import Any

import requests
from requests.structures import CaseInsensitiveDict

# Arguments of ``Session.request`` that the plain path leaves to requests when they are given.
_OTHER_ARGUMENTS = ("params", "cookies", "files", "auth", "proxies", "hooks", "verify", "cert", "json")


class LeanSession(requests.Session):
    """``requests.Session`` with a direct path for a POST of bytes without redirects (see the module)."""

    def __init__(self) -> None:
        super().__init__()
        self._prepared_urls: dict[str, str] = {}

    def request(self, method: str, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        if args or not self._is_plain(url, kwargs):
            return super().request(method, url, *args, **kwargs)
        prepared = self.prepare_plain(method, url, kwargs.get("headers"), kwargs["data"])
        stream = kwargs.get("stream")
        return self.send(
            prepared,
            timeout=kwargs.get("timeout"),
            allow_redirects=False,
            proxies=dict(self.proxies),
            stream=self.stream if stream is None else stream,
            verify=self.verify,
            cert=self.cert,
        )

    def _is_plain(self, url: Any, kwargs: dict[str, Any]) -> bool:
        return (
            not self.trust_env
            and isinstance(url, str)
            and isinstance(kwargs.get("data"), bytes)
            and kwargs.get("allow_redirects", True) is False
            and all(kwargs.get(name) is None for name in _OTHER_ARGUMENTS)
        )

    def prepare_plain(self, method: str, url: str, headers: Any, data: bytes) -> requests.PreparedRequest:
        """What ``prepare_request`` makes of ``Request(method, url, headers=headers, data=data)``, step for step."""
        prepared = requests.PreparedRequest()
        prepared.prepare_method(method)
        prepared.url = self._prepared_url(url)
        merged: CaseInsensitiveDict[Any] = CaseInsensitiveDict(self.headers)
        if headers:
            merged.update(headers)
            for name in [name for name, value in merged.items() if value is None]:
                del merged[name]
        prepared.prepare_headers(merged)
        prepared.prepare_cookies(self.cookies.copy())
        prepared.prepare_body(data, None)
        if self.auth is not None or "@" in prepared.url:
            prepared.prepare_auth(self.auth, prepared.url)
        prepared.prepare_hooks(self.hooks)
        return prepared

    def _prepared_url(self, url: str) -> str:
        found = self._prepared_urls.get(url)
        if found is None:
            scratch = requests.PreparedRequest()
            scratch.prepare_url(url, None)
            found = self._prepared_urls[url] = str(scratch.url)
        return found
