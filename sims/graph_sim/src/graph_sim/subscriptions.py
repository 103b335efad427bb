"""Change notification subscriptions on ``/users/{id}/events``, delivered from the world's change journal.

* ``POST /subscriptions`` validates ``notificationUrl`` (https, unless ``allow_http_notifications``) and
  ``lifecycleNotificationUrl`` with Graph's handshake: a POST to ``<url>?validationToken=<token>`` that must be
  answered within 10 s with 200 and the decoded token as text/plain; otherwise 400 and no subscription.
  ``expirationDateTime`` may be at most 10080 minutes (7 days) ahead, the maximum for Outlook events.
* ``PATCH /subscriptions/{id}`` renews (same rule), ``DELETE`` removes, ``GET`` lists the app's own,
  ``POST /subscriptions/{id}/reauthorize`` answers a ``reauthorizationRequired``.
* Every create, update and delete of an event in the mailbox's calendar (through EWS, Graph or the control API;
  occurrences and exceptions are updates of their series, as Exchange reports them) becomes a notification
  ``{"value": [{subscriptionId, subscriptionExpirationDateTime, changeType, resource, resourceData,
  clientState, tenantId}]}`` POSTed to ``notificationUrl``. A delivery that fails (no 2xx within
  ``delivery_timeout`` seconds) is retried after each of ``retry_delays``; when they are used up the
  notifications are dropped and, if the subscription has a lifecycle URL, a ``missed`` lifecycle notification
  is sent.
* Lifecycle notifications ``{"value": [{subscriptionId, subscriptionExpirationDateTime, tenantId, clientState,
  lifecycleEvent}]}`` go to ``lifecycleNotificationUrl``: ``reauthorizationRequired`` once a subscription set for
  longer than ``reauthorize_before`` comes within that time of its expiry, ``subscriptionRemoved`` when the app
  loses access to the mailbox (and the subscription is deleted), and any of the three on demand (control API
  ``lifecycle``).
  Subscriptions past their expiry are deleted without notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlparse

import httpx

from ews_sim.world import ChangeKind, EwsError, World
from graph_sim.api import Call, GraphApi, Reply
from graph_sim.errors import GraphError, bad_request, from_world
from graph_sim.eventjson import notification_resource
from graph_sim.ids import rest_id
from graph_sim.tenant import Tenant

log = logging.getLogger(__name__)

#: Graph's maximum subscription length for Outlook events.
MAX_EXPIRATION_MINUTES = 10080
VALIDATION_TIMEOUT = 10.0
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")
_RESOURCE = re.compile(r"^/?users/([^/]+)/(?:calendar/)?events/?$", re.IGNORECASE)
_CHANGE_TYPES = {ChangeKind.CREATE: "created", ChangeKind.UPDATE: "updated", ChangeKind.DELETE: "deleted"}


@dataclass
class NotificationOptions:
    allow_http_notifications: bool = False
    notification_ca_file: str | None = None
    verify_notifications: bool = True
    delivery_timeout: float = 3.0
    retry_delays: tuple[float, ...] = (1.0, 5.0, 30.0)
    reauthorize_before: timedelta = timedelta(minutes=10)
    poll_interval: float = 0.02

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> NotificationOptions:
        unknown = set(options) - set(cls.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown simulator options: {sorted(unknown)}")
        values = dict(options)
        if "retry_delays" in values:
            values["retry_delays"] = tuple(values["retry_delays"])
        if isinstance(values.get("reauthorize_before"), int | float):
            values["reauthorize_before"] = timedelta(seconds=values["reauthorize_before"])
        return cls(**values)

    def verify(self) -> ssl.SSLContext | bool:
        if self.notification_ca_file:
            return ssl.create_default_context(cafile=self.notification_ca_file)
        return self.verify_notifications


@dataclass
class Subscription:
    id: str
    client_id: str
    creator_id: str
    resource: str
    mailbox: str
    calendar_id: str  # the mailbox's calendar folder: only its changes are notified
    change_types: list[str]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expiration: datetime
    position: int
    reauthorization_due: bool = False  # set with more than reauthorize_before left: warn once when it is near
    delivering: bool = False
    history: list[str] = field(default_factory=list)

    def json(self, graph_url: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if graph_url is not None:
            body["@odata.context"] = f"{graph_url}/$metadata#subscriptions/$entity"
        body.update(
            {
                "id": self.id,
                "resource": self.resource,
                "applicationId": self.client_id,
                "changeType": ",".join(self.change_types),
                "clientState": self.client_state,
                "notificationUrl": self.notification_url,
                "notificationQueryOptions": None,
                "lifecycleNotificationUrl": self.lifecycle_url,
                "expirationDateTime": _offset(self.expiration),
                "creatorId": self.creator_id,
                "includeResourceData": False,
                "latestSupportedTlsVersion": "v1_2",
                "encryptionCertificate": None,
                "encryptionCertificateId": None,
                "notificationUrlAppId": None,
            }
        )
        return body


def _offset(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S") + f".{value.microsecond:06d}0Z"


def _parse_expiration(value: Any) -> datetime:
    if not isinstance(value, str):
        raise bad_request("expirationDateTime is required.", "InvalidRequest")
    text = value.strip().replace("Z", "+00:00")
    if "." in text:  # Graph takes 7 fractional digits; Python 3.11 takes up to 6
        head, _, tail = text.partition(".")
        digits = re.match(r"\d*", tail)
        frac = digits.group(0) if digits else ""
        text = f"{head}.{frac[:6].ljust(6, '0')}{tail[len(frac) :]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise bad_request(f"Cannot convert '{value}' to a DateTimeOffset.", "InvalidRequest") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class SubscriptionService:
    """Subscriptions of one simulator; its delivery loop runs on the server's event loop."""

    def __init__(self, world: World, tenant: Tenant, api: GraphApi, options: NotificationOptions) -> None:
        self.world = world
        self.tenant = tenant
        self.api = api
        self.options = options
        self._subs: dict[str, Subscription] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.deliveries: list[dict[str, Any]] = []  # what was sent, for the control API (newest last)

    # -- loop -----------------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._client = httpx.AsyncClient(verify=self.options.verify(), follow_redirects=False)
        self._task = asyncio.create_task(self._run(), name="graph-sim-notifications")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def reset(self) -> None:
        with self._lock:
            self._subs.clear()
            self.deliveries.clear()

    async def _run(self) -> None:
        while True:
            try:
                self._tick()
            except Exception:  # keep notifying whatever one bad tick did
                log.exception("graph_sim: notification loop failed")
            await asyncio.sleep(self.options.poll_interval)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _tick(self) -> None:
        now = self.tenant.now()
        last_seq = self.world.journal.last_seq
        with self._lock:
            subs = list(self._subs.values())
        for sub in subs:
            if now >= sub.expiration:
                self._drop(sub.id)
                continue
            app = self.tenant.app(sub.client_id)
            if app is None or not app.may_read(sub.mailbox):
                self._drop(sub.id)
                self._spawn(self._lifecycle(sub, "subscriptionRemoved"))
                continue
            if sub.reauthorization_due and sub.expiration - now <= self.options.reauthorize_before:
                sub.reauthorization_due = False
                self._spawn(self._lifecycle(sub, "reauthorizationRequired"))
            if sub.delivering or sub.position >= last_seq:
                continue
            notifications = self._pending(sub)
            if notifications:
                sub.delivering = True
                self._spawn(self._deliver(sub, notifications))

    def _pending(self, sub: Subscription) -> list[dict[str, Any]]:
        with self.world.lock:
            entries = self.world.journal.mailbox_since(sub.mailbox, sub.position)
            sub.position = self.world.journal.last_seq
        result = []
        for entry in entries:
            change = _CHANGE_TYPES[entry.kind]
            if entry.folder_id != sub.calendar_id or change not in sub.change_types:
                continue
            resource = notification_resource(sub.mailbox, entry.item_id)
            result.append(
                {
                    "subscriptionId": sub.id,
                    "subscriptionExpirationDateTime": _offset(sub.expiration),
                    "changeType": change,
                    "resource": resource,
                    "resourceData": {
                        "@odata.type": "#Microsoft.Graph.Event",
                        "@odata.id": resource,
                        "@odata.etag": f'W/"{entry.change_key}"',
                        "id": rest_id(entry.item_id),
                    },
                    "clientState": sub.client_state,
                    "tenantId": self.tenant.tenant_id,
                }
            )
        return result

    async def _post(self, url: str, body: dict[str, Any], seconds: float) -> bool:
        assert self._client is not None
        try:
            r = await self._client.post(url, json=body, timeout=seconds)
        except httpx.HTTPError as exc:
            log.info("graph_sim: notification to %s failed: %s", url, exc)
            return False
        self.deliveries.append({"url": url, "status": r.status_code, "body": body})
        del self.deliveries[:-200]
        return 200 <= r.status_code < 300

    async def _deliver(self, sub: Subscription, notifications: list[dict[str, Any]]) -> None:
        try:
            body = {"value": notifications}
            for delay in (*self.options.retry_delays, None):
                if await self._post(sub.notification_url, body, self.options.delivery_timeout):
                    return
                if delay is None:
                    break
                await asyncio.sleep(delay)
            if sub.lifecycle_url and sub.id in self._subs:
                await self._lifecycle(sub, "missed")
        finally:
            sub.delivering = False

    async def _lifecycle(self, sub: Subscription, event: str) -> bool:
        if not sub.lifecycle_url:
            return False
        body = {
            "value": [
                {
                    "subscriptionId": sub.id,
                    "subscriptionExpirationDateTime": _offset(sub.expiration),
                    "tenantId": self.tenant.tenant_id,
                    "clientState": sub.client_state,
                    "lifecycleEvent": event,
                }
            ]
        }
        sub.history.append(event)
        return await self._post(sub.lifecycle_url, body, self.options.delivery_timeout)

    def _drop(self, sub_id: str) -> Subscription | None:
        with self._lock:
            return self._subs.pop(sub_id, None)

    # -- control ------------------------------------------------------------------------------------------

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{**s.json(), "mailbox": s.mailbox, "lifecycleEvents": list(s.history)} for s in self._subs.values()]

    def lifecycle(self, event: str, *, subscription_id: str | None = None, mailbox: str | None = None) -> int:
        """Send ``event`` for one subscription, or those of a mailbox, or all; ``subscriptionRemoved`` also deletes
        them. Returns how many were addressed. Callable from any thread."""
        if event not in LIFECYCLE_EVENTS:
            raise ValueError(f"lifecycle event must be one of {', '.join(LIFECYCLE_EVENTS)}")
        with self._lock:
            subs = [
                s
                for s in self._subs.values()
                if (subscription_id is None or s.id == subscription_id)
                and (mailbox is None or s.mailbox == mailbox.lower())
            ]
        if subscription_id is not None and not subs:
            raise KeyError(f"no subscription {subscription_id}")
        for sub in subs:
            if event == "subscriptionRemoved":
                self._drop(sub.id)
            self._schedule(self._lifecycle(sub, event))
        return len(subs)

    def _schedule(self, coro: Any) -> None:
        if self._loop is None:
            coro.close()
            raise RuntimeError("the simulator is not running")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._spawn(coro)
        else:
            asyncio.run_coroutine_threadsafe(coro, self._loop)

    def expire(self, mailbox: str | None = None) -> int:
        with self._lock:
            gone = [k for k, s in self._subs.items() if mailbox is None or s.mailbox == mailbox.lower()]
            for k in gone:
                del self._subs[k]
            return len(gone)

    # -- HTTP ---------------------------------------------------------------------------------------------

    async def handle(self, call: Call, parts: list[str]) -> Reply:
        app = self.api.app_of(call.claims)
        operation = "subscriptions." + {"POST": "create", "PATCH": "update", "DELETE": "delete", "GET": "get"}.get(
            call.method, call.method.lower()
        )
        try:
            try:
                reply = await self._handle(call, parts, app.client_id)
            except EwsError as exc:
                raise from_world(exc) from exc
        except GraphError as exc:
            self.api.gate.count(operation, str(exc.status))
            raise
        self.api.gate.count(operation, str(reply.status))
        return reply

    async def _handle(self, call: Call, parts: list[str], client_id: str) -> Reply:
        if len(parts) == 1:
            if call.method == "POST":
                return await self._create(call, client_id)
            if call.method == "GET":
                with self._lock:
                    mine = [s.json() for s in self._subs.values() if s.client_id == client_id]
                return Reply(200, {"@odata.context": f"{call.graph_url}/$metadata#subscriptions", "value": mine})
        if len(parts) in (2, 3):
            sub = self._owned(parts[1], client_id)
            if len(parts) == 3 and parts[2].lower() == "reauthorize" and call.method == "POST":
                return Reply(204)
            if len(parts) == 2:
                if call.method == "GET":
                    return Reply(200, sub.json(call.graph_url))
                if call.method == "DELETE":
                    self._drop(sub.id)
                    return Reply(204)
                if call.method == "PATCH":
                    body = call.body if isinstance(call.body, dict) else {}
                    sub.expiration = self._check_expiration(body.get("expirationDateTime"))
                    sub.reauthorization_due = self._reauthorization_due(sub.expiration)
                    return Reply(200, sub.json(call.graph_url))
        raise GraphError(405, "MethodNotAllowed", f"{call.method} is not allowed on this resource.")

    def _owned(self, sub_id: str, client_id: str) -> Subscription:
        with self._lock:
            sub = self._subs.get(sub_id)
        if sub is None or sub.client_id != client_id:
            raise GraphError(404, "ResourceNotFound", "The object was not found.")
        return sub

    def _check_expiration(self, value: Any) -> datetime:
        expiration = _parse_expiration(value)
        now = self.tenant.now()
        if expiration <= now:
            raise GraphError(
                400,
                "ExtensionError",
                "Subscription expiration can only be in the future.",
            )
        if expiration > now + timedelta(minutes=MAX_EXPIRATION_MINUTES):
            raise GraphError(
                400,
                "ExtensionError",
                f"Subscription expiration can only be {MAX_EXPIRATION_MINUTES} minutes in the future.",
            )
        return expiration

    def _check_url(self, name: str, value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise bad_request(f"{name} is required.", "InvalidRequest")
        scheme = urlparse(value).scheme.lower()
        if scheme != "https" and not (scheme == "http" and self.options.allow_http_notifications):
            raise bad_request(f"The {name} must be an https URL.", "InvalidRequest")
        return value

    async def _create(self, call: Call, client_id: str) -> Reply:
        body = call.body if isinstance(call.body, dict) else None
        if body is None:
            raise bad_request("Empty Payload. JSON content expected.")
        match = _RESOURCE.match(str(body.get("resource", "")))
        if match is None:
            raise bad_request(f"Resource '{body.get('resource')}' is not supported.", "InvalidRequest")
        smtp = self.api.resolve_user(match.group(1))
        app = self.api.app_of(call.claims)
        self.api.authorize(app, call.claims, smtp, write=False)
        # A fault switched on for "subscriptions.create" (e.g. 503 ServiceUnavailable, as Graph answers when the
        # subscription service is overloaded), of this mailbox or any.
        self.api.gate.fault("subscriptions.create", smtp)
        change_types = [c.strip() for c in str(body.get("changeType", "")).split(",") if c.strip()]
        if not change_types or set(change_types) - {"created", "updated", "deleted"}:
            raise bad_request(f"Invalid 'changeType' attribute: '{body.get('changeType')}'.", "InvalidRequest")
        notification_url = self._check_url("notificationUrl", body.get("notificationUrl"))
        lifecycle_url = body.get("lifecycleNotificationUrl")
        if lifecycle_url is not None:
            lifecycle_url = self._check_url("lifecycleNotificationUrl", lifecycle_url)
        client_state = body.get("clientState")
        if client_state is not None and (not isinstance(client_state, str) or len(client_state) > 128):
            raise bad_request("clientState must be a string of at most 128 characters.", "InvalidRequest")
        expiration = self._check_expiration(body.get("expirationDateTime"))
        for url in dict.fromkeys([notification_url, lifecycle_url]):
            if url is not None:
                await self._validate(url)
        with self.world.lock:
            position = self.world.journal.last_seq
        sub = Subscription(
            str(uuid.uuid4()),
            client_id,
            app.service_principal_id,
            str(body["resource"]),
            smtp,
            self.world.mailbox(smtp).calendar_folder_id,
            change_types,
            notification_url,
            lifecycle_url,
            client_state,
            expiration,
            position,
        )
        sub.reauthorization_due = self._reauthorization_due(expiration)
        with self._lock:
            self._subs[sub.id] = sub
        return Reply(201, sub.json(call.graph_url))

    def _reauthorization_due(self, expiration: datetime) -> bool:
        """Whether to warn before ``expiration``: only subscriptions set for longer than ``reauthorize_before``
        are warned (once), so that renewing a short one does not start a loop of warnings and renewals."""
        return expiration - self.tenant.now() > self.options.reauthorize_before

    async def _validate(self, url: str) -> None:
        """Graph's validation handshake: the endpoint must echo the token within 10 s."""
        assert self._client is not None
        token = f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
        separator = "&" if urlparse(url).query else "?"
        failed = GraphError(
            400,
            "InvalidRequest",
            "Subscription validation request failed. Notification endpoint must respond with 200 OK to "
            "validation request.",
        )
        try:
            r = await self._client.post(
                f"{url}{separator}validationToken={quote(token)}",
                content=b"",
                headers={"Content-Type": "text/plain; charset=utf-8"},
                timeout=VALIDATION_TIMEOUT,
            )
        except httpx.HTTPError as exc:
            raise failed from exc
        if r.status_code != 200 or r.text != token:
            raise failed


__all__ = ["LIFECYCLE_EVENTS", "NotificationOptions", "Subscription", "SubscriptionService"]
