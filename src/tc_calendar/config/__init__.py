"""``config.json``: where it is, how it is read, and the typed settings it becomes.

Use :func:`load_settings`; everything else here is for the command line and for tests.
"""

from tc_calendar.config.loader import (
    ENV_CONFIG,
    ENV_KEY_FILE,
    load_settings,
    parse_settings,
    read_document,
    resolve_config_path,
    resolve_key_file,
)
from tc_calendar.config.models import (
    DEFAULT_CONFIG_PATH,
    ApiSettings,
    CacheSettings,
    CalendarProvider,
    Credential,
    DbConnectionConfig,
    EwsProviderSettings,
    GraphCertificate,
    GraphProviderSettings,
    LaunchSettings,
    LinkRule,
    ProductWhitelist,
    ProviderSettings,
    RegistrationSettings,
    Settings,
    TrueConfSettings,
    WebSettings,
)

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "ENV_CONFIG",
    "ENV_KEY_FILE",
    "ApiSettings",
    "CacheSettings",
    "CalendarProvider",
    "Credential",
    "DbConnectionConfig",
    "EwsProviderSettings",
    "GraphCertificate",
    "GraphProviderSettings",
    "LaunchSettings",
    "LinkRule",
    "ProductWhitelist",
    "ProviderSettings",
    "RegistrationSettings",
    "Settings",
    "TrueConfSettings",
    "WebSettings",
    "load_settings",
    "parse_settings",
    "read_document",
    "resolve_config_path",
    "resolve_key_file",
]
