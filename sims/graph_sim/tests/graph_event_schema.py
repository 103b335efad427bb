"""JSON Schema of the Graph v1.0 types the simulator returns for events, transcribed from Microsoft Graph's
published v1.0 metadata (microsoft.graph.event and the complex types and enums it uses). Properties the
simulator does not serve (attachments, extensions...) are left out; every property it serves must be here."""

from __future__ import annotations

from typing import Any

_NULLABLE_STRING: dict[str, Any] = {"type": ["string", "null"]}
_DATETIME_OFFSET = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$"}

EMAIL_ADDRESS = {
    "type": "object",
    "properties": {"name": _NULLABLE_STRING, "address": _NULLABLE_STRING},
    "additionalProperties": False,
}
RESPONSE_STATUS = {
    "type": "object",
    "required": ["response", "time"],
    "properties": {
        "response": {"enum": ["none", "organizer", "tentativelyAccepted", "accepted", "declined", "notResponded"]},
        "time": _DATETIME_OFFSET,
    },
    "additionalProperties": False,
}
DATETIME_TIMEZONE = {
    "type": "object",
    "required": ["dateTime", "timeZone"],
    "properties": {
        "dateTime": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}$"},
        "timeZone": {"type": "string"},
    },
    "additionalProperties": False,
}
LOCATION = {
    "type": "object",
    "required": ["displayName"],
    "properties": {
        "displayName": _NULLABLE_STRING,
        "locationType": {
            "enum": ["default", "conferenceRoom", "homeAddress", "businessAddress", "geoCoordinates",
                     "streetAddress", "hotel", "restaurant", "localBusiness", "postalAddress"]
        },
        "uniqueId": _NULLABLE_STRING,
        "uniqueIdType": {"enum": ["unknown", "locationStore", "directory", "private", "bing"]},
        "locationUri": _NULLABLE_STRING,
        "locationEmailAddress": _NULLABLE_STRING,
        "address": {"type": ["object", "null"]},
        "coordinates": {"type": ["object", "null"]},
    },
    "additionalProperties": False,
}  # fmt: skip
_DAYS = {"enum": ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]}
PATTERNED_RECURRENCE = {
    "type": "object",
    "required": ["pattern", "range"],
    "properties": {
        "pattern": {
            "type": "object",
            "properties": {
                "type": {"enum": ["daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly",
                                  "relativeYearly"]},
                "interval": {"type": "integer", "minimum": 1},
                "month": {"type": "integer", "minimum": 0, "maximum": 12},
                "dayOfMonth": {"type": "integer", "minimum": 0, "maximum": 31},
                "daysOfWeek": {"type": "array", "items": _DAYS},
                "firstDayOfWeek": _DAYS,
                "index": {"enum": ["first", "second", "third", "fourth", "last"]},
            },
            "additionalProperties": False,
        },
        "range": {
            "type": "object",
            "properties": {
                "type": {"enum": ["endDate", "noEnd", "numbered"]},
                "startDate": {"type": "string", "format": "date"},
                "endDate": {"type": "string", "format": "date"},
                "recurrenceTimeZone": _NULLABLE_STRING,
                "numberOfOccurrences": {"type": "integer"},
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}  # fmt: skip
ATTENDEE = {
    "type": "object",
    "required": ["type", "status", "emailAddress"],
    "properties": {
        "type": {"enum": ["required", "optional", "resource"]},
        "status": RESPONSE_STATUS,
        "emailAddress": EMAIL_ADDRESS,
        "proposedNewTime": {"type": ["object", "null"]},
    },
    "additionalProperties": False,
}
EVENT = {
    "type": "object",
    "required": ["id", "changeKey", "iCalUId", "subject", "start", "end", "type", "isAllDay", "isCancelled"],
    "properties": {
        "@odata.etag": {"type": "string"},
        "@odata.context": {"type": "string"},
        "id": {"type": "string", "pattern": r"^[A-Za-z0-9_\-=]+$"},
        "createdDateTime": _DATETIME_OFFSET,
        "lastModifiedDateTime": _DATETIME_OFFSET,
        "changeKey": {"type": "string"},
        "categories": {"type": "array", "items": {"type": "string"}},
        "transactionId": _NULLABLE_STRING,
        "originalStartTimeZone": _NULLABLE_STRING,
        "originalEndTimeZone": _NULLABLE_STRING,
        "iCalUId": {"type": "string"},
        "reminderMinutesBeforeStart": {"type": "integer"},
        "isReminderOn": {"type": "boolean"},
        "hasAttachments": {"type": "boolean"},
        "subject": _NULLABLE_STRING,
        "bodyPreview": _NULLABLE_STRING,
        "importance": {"enum": ["low", "normal", "high"]},
        "sensitivity": {"enum": ["normal", "personal", "private", "confidential"]},
        "isAllDay": {"type": "boolean"},
        "isCancelled": {"type": "boolean"},
        "isOrganizer": {"type": "boolean"},
        "responseRequested": {"type": "boolean"},
        "seriesMasterId": _NULLABLE_STRING,
        "showAs": {"enum": ["free", "tentative", "busy", "oof", "workingElsewhere", "unknown"]},
        "type": {"enum": ["singleInstance", "occurrence", "exception", "seriesMaster"]},
        "webLink": _NULLABLE_STRING,
        "onlineMeetingUrl": _NULLABLE_STRING,
        "isOnlineMeeting": {"type": "boolean"},
        "onlineMeetingProvider": {"enum": ["unknown", "skypeForBusiness", "skypeForConsumer", "teamsForBusiness"]},
        "allowNewTimeProposals": {"type": "boolean"},
        "isDraft": {"type": "boolean"},
        "hideAttendees": {"type": "boolean"},
        "originalStart": _DATETIME_OFFSET,
        "responseStatus": RESPONSE_STATUS,
        "body": {
            "type": "object",
            "required": ["contentType", "content"],
            "properties": {"contentType": {"enum": ["text", "html"]}, "content": {"type": "string"}},
            "additionalProperties": False,
        },
        "start": DATETIME_TIMEZONE,
        "end": DATETIME_TIMEZONE,
        "location": LOCATION,
        "locations": {"type": "array", "items": LOCATION},
        "recurrence": {"oneOf": [{"type": "null"}, PATTERNED_RECURRENCE]},
        "attendees": {"type": "array", "items": ATTENDEE},
        "organizer": {
            "oneOf": [
                {"type": "null"},
                {"type": "object", "properties": {"emailAddress": EMAIL_ADDRESS}, "additionalProperties": False},
            ]
        },
        "onlineMeeting": {
            "oneOf": [
                {"type": "null"},
                {"type": "object", "properties": {"joinUrl": _NULLABLE_STRING}, "additionalProperties": True},
            ]
        },
    },
    "additionalProperties": False,
}
REMOVED = {
    "type": "object",
    "required": ["id", "@removed"],
    "properties": {
        "@odata.type": {"const": "#microsoft.graph.event"},
        "id": {"type": "string"},
        "@removed": {"type": "object", "properties": {"reason": {"enum": ["changed", "deleted"]}}},
    },
    "additionalProperties": False,
}
