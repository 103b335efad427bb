"""Every message of the WebSocket API as a pydantic model: params are validated with them, and the JSON Schema
files beside this module (``*.json``, one per message) are generated from them by ``python -m
tc_calendar.api.schemas`` so docs, tests and code cannot drift apart (a test checks the files are current).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Email = str
IsoTime = str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- params -------------------------------------------------------------------------------------------------
class AuthHelloParams(_Strict):
    serverId: str = Field(min_length=1, max_length=255, description="A server ID from productWhitelist.tcs")
    nonce: str | None = Field(
        default=None, min_length=16, max_length=128, description="Optional: ask the connector to prove the secret too"
    )


class AuthProveParams(_Strict):
    proof: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="hex(HMAC-SHA256(secret, challenge || serverId))")


class AuthLoginParams(_Strict):
    login: str = Field(min_length=1, max_length=255)
    password: str = Field(max_length=1024)


class AuthResumeParams(_Strict):
    token: str = Field(min_length=1, max_length=2048)


class CalendarListParams(_Strict):
    user: Email = Field(min_length=3, max_length=320)
    start: IsoTime
    end: IsoTime


class CalendarGetParams(_Strict):
    uid: str = Field(min_length=1, max_length=2048)
    recurrenceId: IsoTime | None = None
    user: Email | None = Field(default=None, max_length=320, description="Whose myResponse to fill in")


class ChangesSubscribeParams(_Strict):
    users: list[Email] | Literal["*"] = Field(description='Users to follow, or "*" for every user')
    cursor: int | None = Field(default=None, ge=0, description="Resume after this cursor; omitted: from now on")


class ChangesUnsubscribeParams(_Strict):
    subscription: str


class EmptyParams(_Strict):
    pass


# ---- results ------------------------------------------------------------------------------------------------
ResponseValue = Literal["Accepted", "Tentative", "Declined", "NoResponse", "Organizer"]


class Key(_Strict):
    uid: str
    recurrenceId: IsoTime | None


class Person(_Strict):
    email: Email
    name: str


class AttendeeDoc(_Strict):
    email: Email
    name: str
    role: Literal["Organizer", "Required", "Optional", "Resource"]
    response: ResponseValue


class Recurrence(_Strict):
    summary: str | None
    isException: bool


class Conference(_Strict):
    id: str
    url: str


class OccurrenceDoc(_Strict):
    key: Key
    title: str
    displayTitle: str
    start: IsoTime
    end: IsoTime
    allDay: bool
    location: str
    description: str
    organizer: Person | None
    attendees: list[AttendeeDoc]
    myResponse: ResponseValue | None
    cancelled: bool
    recurrence: Recurrence | None
    conference: Conference | None
    private: bool


class ChangeDoc(_Strict):
    cursor: int
    kind: Literal["upsert", "delete", "conference_started", "conference_failed"]
    user: Email
    key: Key | None
    at: IsoTime
    occurrence: OccurrenceDoc | None
    details: dict[str, object] | None = None


class AuthHelloResult(_Strict):
    challenge: str
    algorithm: Literal["HMAC-SHA256"]


class SessionDoc(_Strict):
    kind: Literal["server", "web"]
    name: str = Field(description="The server ID or the web login")


class AuthProveResult(_Strict):
    session: SessionDoc
    serverProof: str | None = Field(description='hex(HMAC-SHA256(secret, "server" || nonce || challenge)) or null')
    server: str
    version: str


class AuthLoginResult(_Strict):
    session: SessionDoc
    token: str
    expiresAt: IsoTime
    server: str
    version: str


class CalendarListResult(_Strict):
    user: Email
    status: Literal["synced", "queued"]
    occurrences: list[OccurrenceDoc]


class CalendarGetResult(_Strict):
    occurrence: OccurrenceDoc


class ChangesSubscribeResult(_Strict):
    subscription: str
    cursor: int


class ChangesUnsubscribeResult(_Strict):
    subscription: str
    cursor: int


class ChangesNotifyParams(_Strict):
    subscription: str
    cursor: int
    changes: list[ChangeDoc]


class SyncWindowDoc(_Strict):
    start: IsoTime = Field(description="Nothing earlier is kept (cache.backward months back, at a UTC midnight)")
    end: IsoTime = Field(description="Recurring series are kept until here (cache.forward months ahead)")
    singlesEnd: IsoTime = Field(description="Single meetings are kept until here")


class ServerInfoResult(_Strict):
    name: str
    version: str
    protocol: int
    cursor: int
    mailboxes: dict[str, int] = Field(description="Count of mailboxes per state, and total")
    window: SyncWindowDoc | None = Field(
        default=None, description="The sync window now (cache.backward/forward); null when not known"
    )


class MailboxDoc(_Strict):
    email: Email
    name: str | None = Field(default=None, description="As meetings' attendee lists give it; null if unknown")
    kind: Literal["person", "room"] = Field(
        default="person", description="room: booked as a room or other resource (role Resource) in a meeting"
    )
    state: str
    origin: str
    lastSuccessAt: IsoTime | None
    lastError: str | None
    eventCount: int


class UsersListResult(_Strict):
    users: list[MailboxDoc]


class ErrorObject(_Strict):
    code: int
    message: str
    data: dict[str, object] | None = None


class ErrorResponse(_Strict):
    jsonrpc: Literal["2.0"]
    id: int | str | None
    error: ErrorObject


#: Method name -> (params model, result model); ``changes.notify`` is server -> client.
METHODS: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    "auth.hello": (AuthHelloParams, AuthHelloResult),
    "auth.prove": (AuthProveParams, AuthProveResult),
    "auth.login": (AuthLoginParams, AuthLoginResult),
    "auth.resume": (AuthResumeParams, AuthLoginResult),
    "calendar.list": (CalendarListParams, CalendarListResult),
    "calendar.get": (CalendarGetParams, CalendarGetResult),
    "changes.subscribe": (ChangesSubscribeParams, ChangesSubscribeResult),
    "changes.unsubscribe": (ChangesUnsubscribeParams, ChangesUnsubscribeResult),
    "server.info": (EmptyParams, ServerInfoResult),
    "users.list": (EmptyParams, UsersListResult),
}
NOTIFICATIONS: dict[str, type[BaseModel]] = {"changes.notify": ChangesNotifyParams}
