"""Graph v1.0's calendar endpoints over the world, as one dispatcher that both HTTP requests and ``$batch``
parts go through.

``/users/{id | userPrincipalName}/`` + ``events`` (GET, POST), ``events/{id}`` (GET, PATCH, DELETE),
``events/{id}/instances``, ``events/{id}/accept | tentativelyAccept | decline | cancel``, ``calendarView``,
``calendarView/delta``; the same under ``calendar/``. Each request passes the gate (faults, the 4-per-mailbox
concurrency limit, latency) once its mailbox is known, then the app's permission and Application Access Policy.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from ews_sim.world import (
    CalendarItem,
    CalendarItemType,
    EwsError,
    MailboxUnavailable,
    NonExistentMailbox,
    World,
)
from graph_sim import errors
from graph_sim.delta import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, DeltaError, DeltaStore, Round
from graph_sim.errors import GraphError, bad_request
from graph_sim.eventjson import (
    ONLINE_MEETING_KEY,
    EventInput,
    event_json,
    parse_event_input,
    removed_json,
    select,
)
from graph_sim.gate import GraphGate
from graph_sim.ids import ews_id, rest_id, user_id
from graph_sim.odata import (
    Preferences,
    parse_int,
    parse_select,
    parse_window,
    preferences,
    sort_and_filter,
)
from graph_sim.tenant import READ_ROLES, WRITE_ROLES, AppRegistration, Tenant, TokenClaims

JSON_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
DEFAULT_TOP = 10
MAX_TOP = 1000


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-able, or None for no content
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    """One Graph request (a whole HTTP request, or one part of a $batch)."""

    method: str
    path: str  # after /v1.0/, without the query
    query: dict[str, str]
    headers: Mapping[str, str]
    body: Any
    claims: TokenClaims
    graph_url: str


Handler = Callable[[Call, list[str]], Awaitable[Reply]]


class GraphApi:
    def __init__(self, world: World, tenant: Tenant, gate: GraphGate, deltas: DeltaStore) -> None:
        self.world = world
        self.tenant = tenant
        self.gate = gate
        self.deltas = deltas
        self.extra_routes: list[tuple[str, Handler]] = []  # (first path segment, handler), e.g. subscriptions
        self._user_ids: dict[str, str] = {}  # object id -> SMTP address

    # -- dispatch -------------------------------------------------------------------------------------------

    async def dispatch(self, call: Call) -> Reply:
        parts = [p for p in call.path.split("/") if p]
        try:
            if not parts:
                raise _no_route(call)
            if parts[0].lower() == "me":
                raise bad_request("/me request is only valid with delegated authentication flow.")
            for segment, handler in self.extra_routes:
                if parts[0].lower() == segment:
                    return await handler(call, parts)
            if parts[0].lower() != "users" or len(parts) < 2:
                raise _no_route(call)
            return await self._user_request(call, parts[1], parts[2:])
        except GraphError as exc:
            return error_reply(exc, call.headers)

    async def _user_request(self, call: Call, user: str, rest: list[str]) -> Reply:
        if rest and rest[0].lower() == "calendar":
            rest = rest[1:]
        route = _route(call.method, rest)
        if route is None:
            raise _no_route(call)
        operation, handler, write = route
        try:
            smtp = self.resolve_user(user)
            app = self.app_of(call.claims)
            self.authorize(app, call.claims, smtp, write)
        except GraphError as exc:
            self.gate.count(operation, str(exc.status))
            raise
        slot = self.gate.admit(operation, app.client_id, smtp)
        outcome = "500"
        try:
            # yield once holding the slot: the parts of a $batch run concurrently, as in Graph, so more than four
            # parts for one mailbox meet the MailboxConcurrency limit
            await asyncio.sleep(self.gate.latency_ms / 1000)
            try:
                reply = await handler(self, call, smtp, user, rest)
            except EwsError as exc:
                raise errors.from_world(exc) from exc
            outcome = str(reply.status)
            return reply
        except GraphError as exc:
            outcome = str(exc.status)
            raise
        finally:
            self.gate.release(slot, operation, outcome)

    def resolve_user(self, user: str) -> str:
        """The SMTP address of a user given by userPrincipalName or object id (404 ErrorInvalidUser)."""
        key = user.strip().lower()
        if "@" in key:
            try:
                return self.world.mailbox(key).smtp
            except NonExistentMailbox:
                raise errors.invalid_user(user) from None
            except MailboxUnavailable:
                return key  # it exists; reading it will answer 503
        smtp = self._user_ids.get(key)
        if smtp is None:  # a mailbox added since the last lookup
            self._user_ids = {user_id(m.smtp): m.smtp for m in self.world.mailboxes()}
            smtp = self._user_ids.get(key)
        if smtp is None:
            raise errors.invalid_user(user)
        return smtp

    def app_of(self, claims: TokenClaims) -> AppRegistration:
        app = self.tenant.app(claims.client_id)
        if app is None:  # deleted since the token was issued
            raise GraphError(401, "InvalidAuthenticationToken", "The application of the token no longer exists.")
        return app

    def authorize(self, app: AppRegistration, claims: TokenClaims, smtp: str, write: bool) -> None:
        needed = WRITE_ROLES if write else READ_ROLES
        if not claims.roles & needed:
            raise errors.permission_denied()
        if not app.may_read(smtp):
            raise errors.access_policy_denied()

    # -- reading --------------------------------------------------------------------------------------------

    def _render(self, item: CalendarItem, call: Call, prefs: Preferences) -> dict[str, Any]:
        return event_json(item, prefs.rendering(call.graph_url))

    async def list_events(self, call: Call, smtp: str, user: str, rest: list[str]) -> Reply:
        prefs = preferences(call.headers)
        items = self.world.find_items(smtp)
        return self._collection(call, prefs, items, f"users('{quote(user, safe='@')}')/events", None)

    async def calendar_view(self, call: Call, smtp: str, user: str, rest: list[str]) -> Reply:
        prefs = preferences(call.headers)
        start, end = parse_window(call.query)
        items = self.world.calendar_view(smtp, start, end)
        return self._collection(call, prefs, items, f"users('{quote(user, safe='@')}')/calendarView", None)

    async def instances(self, call: Call, smtp: str, user: str, rest: list[str]) -> Reply:
        prefs = preferences(call.headers)
        start, end = parse_window(call.query)
        master = self.world.get_item(_ews(rest[1]), smtp)
        items: list[CalendarItem] = []
        if master.calendar_item_type == CalendarItemType.RECURRING_MASTER:
            items = [i for i in self.world.calendar_view(smtp, start, end) if i.recurring_master_id == master.item_id]
        return self._collection(call, prefs, items, "Collection(event)", None)

    def _collection(self, call: Call, prefs: Preferences, items: list[CalendarItem], context: str, order: Any) -> Reply:
        fields = parse_select(_q(call.query, "$select"))
        top = parse_int(_q(call.query, "$top"), "$top")
        skip = parse_int(_q(call.query, "$skip"), "$skip") or 0
        size = min(top or prefs.max_page_size or DEFAULT_TOP, MAX_TOP)
        events = []
        for item in items:
            event = self._render(item, call, prefs)
            event["_start_utc"], event["_end_utc"] = item.start, item.end
            events.append(event)
        events = sort_and_filter(events, call.query, order)
        page = events[skip : skip + size]
        body: dict[str, Any] = {"@odata.context": f"{call.graph_url}/$metadata#{context}"}
        body["value"] = [select(_public(e), fields) for e in page]
        if skip + size < len(events):
            params = {k: v for k, v in call.query.items() if k.lower() != "$skip"}
            params["$skip"] = str(skip + size)
            body["@odata.nextLink"] = f"{call.graph_url}/{call.path.strip('/')}?{urlencode(params, safe='$:,/')}"
        return _json(200, body, prefs)

    async def get_event(self, call: Call, smtp: str, user: str, rest: list[str]) -> Reply:
        prefs = preferences(call.headers)
        item = self.world.get_item(_ews(rest[1]), smtp)
        fields = parse_select(_q(call.query, "$select"))
        body = {"@odata.context": f"{call.graph_url}/$metadata#users('{quote(user, safe='@')}')/events/$entity"}
        body.update(select(self._render(item, call, prefs), fields))
        return _json(200, body, prefs)

    # -- delta ----------------------------------------------------------------------------------------------

    async def delta(self, call: Call, smtp: str, user: str, rest: list[str]) -> Reply:
        prefs = preferences(call.headers)
        skip_token = _q(call.query, "$skiptoken")
        delta_token = _q(call.query, "$deltatoken")
        size = min(prefs.max_page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        if skip_token:
            rnd, offset = self.deltas.page(skip_token)
            if rnd.mailbox != smtp:
                raise DeltaError.other_mailbox()
        elif delta_token:
            baseline = self.deltas.baseline(delta_token)
            if baseline.mailbox != smtp:
                raise DeltaError.other_mailbox()
            current = self._change_keys(smtp, baseline.start, baseline.end)
            token = self.deltas.start_round(smtp, baseline.start, baseline.end, current, baseline.change_keys, size)
            rnd, offset = self.deltas.page(token)
        else:
            start, end = parse_window(call.query)
            current = self._change_keys(smtp, start, end)
            token = self.deltas.start_round(smtp, start, end, current, None, size)
            rnd, offset = self.deltas.page(token)
        return self._delta_page(call, prefs, user, rnd, offset)

    def _change_keys(self, smtp: str, start: datetime, end: datetime) -> dict[str, str]:
        return {i.item_id: i.change_key for i in self.world.calendar_view(smtp, start, end)}

    def _delta_page(self, call: Call, prefs: Preferences, user: str, rnd: Round, offset: int) -> Reply:
        values: list[dict[str, Any]] = []
        end = offset + min(prefs.max_page_size or rnd.page_size, MAX_PAGE_SIZE)
        page = rnd.pending[offset:end]
        # one expansion of the window for the page (fetching occurrences one by one walks each series)
        view = {i.item_id: i for i in self.world.calendar_view(rnd.mailbox, rnd.start, rnd.end)} if page else {}
        for item_id, removed in page:
            item = None if removed else view.get(item_id)
            if item is None:  # deleted, or gone from the window since the round started
                values.append(removed_json(rest_id(item_id)))
                continue
            rnd.baseline[item_id] = item.change_key
            values.append(self._render(item, call, prefs))
        base = f"{call.graph_url}/users/{quote(user, safe='@')}/calendarView/delta"
        body: dict[str, Any] = {"@odata.context": f"{call.graph_url}/$metadata#Collection(event)"}
        if end < len(rnd.pending):
            body["@odata.nextLink"] = f"{base}?$skiptoken={self.deltas.next_page(rnd, end)}"
        else:
            body["@odata.deltaLink"] = f"{base}?$deltatoken={self.deltas.finish(rnd)}"
        body["value"] = values
        reply = _json(200, body, prefs)
        reply.headers["Preference-Applied"] = ", ".join(["odata.track-changes", *prefs.applied])
        return reply

    # -- writing --------------------------------------------------------------------------------------------

    async def create_event(self, call: Call, smtp: str, user: str, rest: list[str]) -> Reply:
        prefs = preferences(call.headers)
        mailbox = self.world.mailbox(smtp)
        data = parse_event_input(call.body, mailbox.time_zone)
        changes = dict(data.changes)
        if "start" not in changes or "end" not in changes:
            raise bad_request("An event needs a start and an end.", "ErrorInvalidRequest")
        common = {
            "body": changes.pop("body", ""),
            "body_type": changes.pop("body_type", "Text"),
            "location": changes.pop("location", ""),
            "all_day": changes.pop("all_day", False),
            "time_zone": changes.pop("time_zone", None),
            "recurrence": changes.pop("recurrence", None),
            "sensitivity": changes.pop("sensitivity", "Normal"),
        }
        subject, start, end = changes.pop("subject", ""), changes.pop("start"), changes.pop("end")
        if data.has_attendees:
            item = self.world.create_meeting(
                smtp,
                subject,
                start,
                end,
                required=data.required or [],
                optional=data.optional or [],
                resources=data.resources or [],
                **common,
            )
        else:
            item = self.world.create_appointment(smtp, subject, start, end, **common)
        item = self._apply_other(item, changes)
        body = {"@odata.context": f"{call.graph_url}/$metadata#users('{quote(user, safe='@')}')/events/$entity"}
        body.update(self._render(item, call, prefs))
        reply = _json(201, body, prefs)
        reply.headers["Location"] = f"{call.graph_url}/users/{quote(user, safe='@')}/events('{body['id']}')"
        return reply

    def _apply_other(self, item: CalendarItem, changes: dict[str, Any]) -> CalendarItem:
        """Fields the scheduling methods do not take: sensitivity, showAs, categories, isOnlineMeeting."""
        rest = dict(changes)
        online = rest.pop("is_online_meeting", None)
        if online is not None:
            url = (
                "https://teams.microsoft.com/l/meetup-join/19%3ameeting_" + secrets.token_urlsafe(24) + "%40thread.v2/0"
                if online
                else None
            )
            rest["extended_properties"] = {ONLINE_MEETING_KEY: url}
        if not rest:
            return item
        return self.world.update_item(item.item_id, **rest)

    async def update_event(self, call: Call, smtp: str, user: str, rest: list[str]) -> Reply:
        prefs = preferences(call.headers)
        item = self.world.get_item(_ews(rest[1]), smtp)
        data = parse_event_input(call.body, item.start_time_zone)
        item = self._update(item, data)
        body = {"@odata.context": f"{call.graph_url}/$metadata#users('{quote(user, safe='@')}')/events/$entity"}
        body.update(self._render(item, call, prefs))
        return _json(200, body, prefs)

    def _update(self, item: CalendarItem, data: EventInput) -> CalendarItem:
        changes = dict(data.changes)
        is_instance = item.original_start is not None
        organizer_meeting = item.is_organizer and item.is_meeting
        scheduling = {k: changes.pop(k) for k in list(changes) if k in _SCHEDULING_FIELDS}
        if is_instance:
            occurrence_changes = {k: v for k, v in scheduling.items() if k in _OCCURRENCE_FIELDS}
            if occurrence_changes and organizer_meeting:
                assert item.original_start is not None
                self.world.update_occurrence(item.mailbox, item.uid, item.original_start, **occurrence_changes)
            elif occurrence_changes:
                self.world.update_item(item.item_id, **occurrence_changes)
            return self.world.get_item(item.item_id, item.mailbox)
        if data.required is not None:
            scheduling["required"] = data.required
            scheduling["optional"] = data.optional or []
            scheduling["resources"] = data.resources or []
        if organizer_meeting and scheduling:
            self.world.update_meeting(item.mailbox, item.uid, **scheduling)
        elif scheduling:
            scheduling = {k: v for k, v in scheduling.items() if k not in ("required", "optional", "resources")}
            if data.has_attendees:
                raise bad_request(
                    "Adding attendees to an appointment is not supported by this simulator.", "ErrorInvalidRequest"
                )
            if scheduling:
                self.world.update_item(item.item_id, **scheduling)
        current = self.world.get_item(item.item_id, item.mailbox)
        return self._apply_other(current, changes)

    async def delete_event(self, call: Call, smtp: str, user: str, rest: list[str]) -> Reply:
        item = self.world.get_item(_ews(rest[1]), smtp)
        organizer_meeting = item.is_organizer and item.is_meeting
        if item.original_start is not None:
            if organizer_meeting:
                self.world.delete_occurrence(smtp, item.uid, item.original_start)
            else:
                self.world.delete_item(item.item_id)
        elif organizer_meeting:
            self.world.cancel_meeting(smtp, item.uid)
        else:
            self.world.delete_item(item.item_id, "MoveToDeletedItems")
        return Reply(204)

    async def respond(self, call: Call, smtp: str, user: str, rest: list[str]) -> Reply:
        action = rest[2].lower()
        item = self.world.get_item(_ews(rest[1]), smtp)
        if item.is_organizer:
            raise GraphError(
                400,
                "ErrorInvalidRequest",
                "Your request can't be completed. You can't respond to this meeting because you're the meeting "
                "organizer.",
            )
        if not item.is_meeting:
            raise GraphError(400, "ErrorInvalidRequest", "Your request can't be completed. This item isn't a meeting.")
        if item.is_cancelled:
            raise GraphError(
                400, "ErrorInvalidRequest", "Your request can't be completed. The meeting has been canceled."
            )
        _check_action_body(call.body, {"comment", "sendResponse", "proposedNewTime"})
        answer = {"accept": "Accept", "tentativelyaccept": "Tentative", "decline": "Decline"}[action]
        self.world.respond(smtp, item.item_id, answer)
        return Reply(202)

    async def cancel(self, call: Call, smtp: str, user: str, rest: list[str]) -> Reply:
        item = self.world.get_item(_ews(rest[1]), smtp)
        if not item.is_organizer or not item.is_meeting:
            raise GraphError(
                400,
                "ErrorAccessDenied",
                "Your request can't be completed. You need to be an organizer to cancel a meeting.",
            )
        _check_action_body(call.body, {"comment"})
        if item.original_start is not None:
            self.world.delete_occurrence(smtp, item.uid, item.original_start)
        else:
            self.world.cancel_meeting(smtp, item.uid)
        return Reply(202)


_SCHEDULING_FIELDS = {"subject", "body", "body_type", "location", "start", "end", "all_day", "time_zone", "recurrence"}
_OCCURRENCE_FIELDS = {"subject", "body", "body_type", "location", "start", "end"}

_Method = Callable[[GraphApi, Call, str, str, list[str]], Awaitable[Reply]]


def _route(method: str, rest: list[str]) -> tuple[str, _Method, bool] | None:
    """(operation name, handler, needs write permission) for a path under /users/{id}/ (calendar/ removed)."""
    lowered = [p.lower() for p in rest]
    n = len(lowered)
    if n == 1 and lowered[0] == "events":
        if method == "GET":
            return "events.list", GraphApi.list_events, False
        if method == "POST":
            return "events.create", GraphApi.create_event, True
    if n == 1 and lowered[0] == "calendarview" and method == "GET":
        return "calendarView", GraphApi.calendar_view, False
    if n == 2 and lowered == ["calendarview", "delta"] and method == "GET":
        return "calendarView.delta", GraphApi.delta, False
    if n == 2 and lowered[0] == "events":
        if method == "GET":
            return "events.get", GraphApi.get_event, False
        if method == "PATCH":
            return "events.update", GraphApi.update_event, True
        if method == "DELETE":
            return "events.delete", GraphApi.delete_event, True
    if n == 3 and lowered[0] == "events":
        if lowered[2] == "instances" and method == "GET":
            return "events.instances", GraphApi.instances, False
        if lowered[2] in ("accept", "tentativelyaccept", "decline") and method == "POST":
            return f"events.{rest[2]}", GraphApi.respond, True
        if lowered[2] == "cancel" and method == "POST":
            return "events.cancel", GraphApi.cancel, True
    return None


def _check_action_body(body: Any, allowed: set[str]) -> None:
    if body is None:
        return
    if not isinstance(body, dict):
        raise bad_request("The action body must be a JSON object.")
    unknown = set(body) - allowed
    if unknown:
        raise bad_request(f"The parameter '{sorted(unknown)[0]}' in the request payload is not a valid parameter.")


def _ews(graph_id: str) -> str:
    return ews_id(graph_id.strip("'()"))


def _q(query: Mapping[str, str], name: str) -> str | None:
    for key, value in query.items():
        if key.lower() == name.lower():
            return value
    return None


def _public(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if not k.startswith("_")}


def _json(status: int, body: Any, prefs: Preferences | None = None) -> Reply:
    headers = {}
    if prefs is not None and prefs.applied:
        headers["Preference-Applied"] = ", ".join(prefs.applied)
    return Reply(status, body, headers)


def _no_route(call: Call) -> GraphError:
    return GraphError(
        400, "BadRequest", f"Resource not found for the segment '{call.path.strip('/').split('/')[-1] or 'v1.0'}'."
    )


def error_reply(exc: GraphError, headers: Mapping[str, str]) -> Reply:
    request_id = str(uuid.uuid4())
    client_request_id = headers.get("client-request-id")
    return Reply(exc.status, exc.body(request_id, client_request_id), dict(exc.headers))


def parse_json_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_request(f"Unable to read JSON request payload: {exc}", "BadRequest") from exc
