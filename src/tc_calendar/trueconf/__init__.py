"""TrueConf Server: the REST client, user mapping and the conference launcher.

Public API::

    TrueConfClient.connect(url, client_id=..., client_secret=..., api_version="v4")  # or token=...
    TrueConfClient.from_settings(settings.trueconf)
    decide_launch(occurrence, now, LaunchPolicy(...))        # pure: NOW / LATER / LATE / NEVER
    ConferenceLauncher(client, resolver, mode).launch(occurrence)

See docs/trueconf.md.
"""

from tc_calendar.trueconf.client import TrueConfClient
from tc_calendar.trueconf.errors import (
    ConferenceNotFoundError,
    TrueConfAuthError,
    TrueConfError,
    TrueConfRequestError,
    TrueConfUnavailableError,
)
from tc_calendar.trueconf.launch_plan import LaunchAction, LaunchDecision, LaunchPolicy, SkipReason, decide_launch
from tc_calendar.trueconf.launcher import ConferenceLauncher, LaunchOutcome, launch_conference
from tc_calendar.trueconf.models import Conference, Invitation, Participant, TrueConfUser
from tc_calendar.trueconf.participants import ParticipantPlan, ParticipantsMode, emails, plan_participants
from tc_calendar.trueconf.users import InMemoryUserCache, StoreUserCache, UserResolver

__all__ = [
    "Conference",
    "ConferenceLauncher",
    "ConferenceNotFoundError",
    "InMemoryUserCache",
    "Invitation",
    "LaunchAction",
    "LaunchDecision",
    "LaunchOutcome",
    "LaunchPolicy",
    "Participant",
    "ParticipantPlan",
    "ParticipantsMode",
    "SkipReason",
    "StoreUserCache",
    "TrueConfAuthError",
    "TrueConfClient",
    "TrueConfError",
    "TrueConfRequestError",
    "TrueConfUnavailableError",
    "TrueConfUser",
    "UserResolver",
    "decide_launch",
    "emails",
    "launch_conference",
    "plan_participants",
]
