"""TrueConf Server: the REST client, user mapping and the conference launcher.

Public API::

    TrueConfClient.connect(url, client_id=..., client_secret=..., api_version="v4")  # or token=...
    TrueConfClient.from_settings(settings.trueconf)
"""

from tc_calendar.trueconf.client import TrueConfClient
from tc_calendar.trueconf.errors import (
    ConferenceNotFoundError,
    TrueConfAuthError,
    TrueConfError,
    TrueConfRequestError,
    TrueConfUnavailableError,
)
from tc_calendar.trueconf.models import Conference, Invitation, Participant, TrueConfUser

__all__ = [
    "Conference",
    "ConferenceNotFoundError",
    "Invitation",
    "Participant",
    "TrueConfAuthError",
    "TrueConfClient",
    "TrueConfError",
    "TrueConfRequestError",
    "TrueConfUnavailableError",
    "TrueConfUser",
]
