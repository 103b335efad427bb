"""Typed, immutable settings read from ``config.json``.

Keys keep the seed's camelCase spelling in the file (``wsPort``, ``calendarProviders``...) and are snake_case
attributes in Python (``settings.ws_port``). Every key we added has a default, so the seed's own file loads
unchanged. Scalars are strict (``"443"`` is not a port), so a quoting mistake is reported instead of guessed.
Unknown keys are kept (``extra="allow"``) only so the loader can warn about them; nothing reads them.

Secrets are decrypted while validating and held as :class:`pydantic.SecretStr`: ``repr``, ``str`` and logs show
``**********``; call ``.get_secret_value()`` at the one place that needs the plaintext.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    SecretStr,
    Strict,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError
from sqlalchemy.engine import URL

from tc_calendar.config._types import (
    Email,
    EncryptedSecret,
    EncryptedSecretOrEmpty,
    Guid,
    HttpsOrigin,
    Months,
    NonEmptyStr,
    NotificationUrl,
    Port,
    TenantId,
)
from tc_calendar.config.certificates import CertificateFileError, normalize_thumbprint, read_certificate_credential
from tc_calendar.licence_keys import parse_public_key

DEFAULT_CONFIG_PATH = Path("/opt/trueconf/calendar/etc/calendar/config.json")
CONFIG_PATH_CONTEXT_KEY = "config_path"
KEY_FILE_CONTEXT_KEY = "key_file"

SUPPORTED_PROVIDER_TYPES = ("ews", "graph")
PLANNED_PROVIDER_TYPES = ("caldav",)

Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]
Str = Annotated[str, Strict()]
Number = Annotated[float, Strict()]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow", alias_generator=to_camel, populate_by_name=False)


class DbConnectionConfig(_Section):
    """``dbConnectionConfig``: the PostgreSQL database (seed 3.1.1). Absent means the embedded SQLite file."""

    host: NonEmptyStr = "localhost"
    port: Port = 5432
    user: NonEmptyStr
    password: EncryptedSecretOrEmpty = SecretStr("")
    database: NonEmptyStr = "calendar"
    schema_: Annotated[str, Strict(), Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")] | None = Field(
        default=None, alias="schema"
    )
    """A schema of its own in ``database`` (created if missing), so several connector installations can share one
    database; absent: the server's default (``public``). Nodes of one installation use the same schema."""


class ClusterSettings(_Section):
    """``cluster``: several connector nodes on one PostgreSQL database share the mailboxes through leases.

    ``nodeId`` names this node in the leases; absent: the host name, so a restarted node takes its own leases back
    at once. Nodes on one host need distinct ids. A node that stops renewing (killed, cut off) loses its mailboxes
    to the others ``leaseSeconds`` after its last renewal.
    """

    node_id: Annotated[str, Strict(), Field(min_length=1, max_length=200)] | None = None
    lease_seconds: Annotated[Number, Field(ge=3)] = 90.0


class CacheSettings(_Section):
    """``cache`` (seed 3.1.2): how far back and ahead, in months, occurrences are kept."""

    auto_sync: Bool = False
    backward: Months = 2
    forward: Months = 3


class ProductWhitelist(_Section):
    """``productWhitelist`` (seed 3.1.3): TrueConf Server IDs (``server.trueconf.name#vcs``) allowed to connect."""

    tcs: tuple[NonEmptyStr, ...] = ()


class Credential(_Section):
    """One impersonation service account (seed 3.1.4); ``password`` is encrypted in the file."""

    login: NonEmptyStr
    password: EncryptedSecret


class CalendarProvider(_Section):
    """An Exchange Web Services entry of ``calendarProviders`` (seed 3.1.4) plus our connection options."""

    host: NonEmptyStr
    path: Str = "/EWS/Exchange.asmx"
    port: Port = 443
    type: Str = "ews"
    credentials: tuple[Credential, ...]
    users: tuple[Email, ...] = ()
    auth: Literal["auto", "ntlm", "basic"] = "auto"
    verify_tls: Bool = True
    ca_bundle: Str | None = None
    timeout_seconds: Annotated[Number, Field(gt=0)] = 30.0
    max_concurrency: Annotated[Int, Field(ge=1)] = 10
    scheme: Literal["https", "http"] = "https"
    #: Skip exchangelib's version probe when the server's version is known (the guide names Exchange 2016).
    exchange_version: Literal["Exchange2013", "Exchange2013_SP1", "Exchange2016", "Exchange2019"] | None = None

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        # Every entry whose type is not "graph" is validated as EWS (the seed's entries have no type), so this
        # is where an unknown type is reported.
        if value == "ews":
            return value
        if value in PLANNED_PROVIDER_TYPES:
            raise PydanticCustomError(
                "provider_planned",
                "calendar provider type {value} is not supported yet; use \"ews\" (Exchange Web Services, "
                "Exchange Server on premises) or \"graph\" (Microsoft Graph, Exchange Online)",
                {"value": repr(value)},
            )
        raise PydanticCustomError(
            "provider_type", "expected \"ews\" or \"graph\", got {value}", {"value": repr(value)}
        )

    @field_validator("path")
    @classmethod
    def _absolute_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise PydanticCustomError("url_path", "expected a path starting with /, such as /EWS/Exchange.asmx")
        return value

    @field_validator("credentials")
    @classmethod
    def _some_credentials(cls, value: tuple[Credential, ...]) -> tuple[Credential, ...]:
        if not value:
            raise PydanticCustomError(
                "no_credentials", "expected at least one service account ({\"login\": ..., \"password\": ...})"
            )
        return value

    @property
    def url(self) -> str:
        """The EWS endpoint, e.g. ``https://exchange.example.com:443/EWS/Exchange.asmx``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.path}"


EwsProviderSettings = CalendarProvider
"""The name the Graph work uses for the EWS entry; the seed-era name stays for existing code."""


class GraphCertificate(_Section):
    """``certificate`` of a Graph provider: a PEM file with the private key and the certificate uploaded to the
    app registration, and that certificate's thumbprint as Microsoft Entra shows it.

    The file is read while validating, so a missing file, a key without its certificate or a thumbprint of
    another certificate is a config error, not a failed token request later. ``file`` holds the absolute path.
    """

    file: NonEmptyStr
    thumbprint: Str

    @field_validator("file")
    @classmethod
    def _readable_key_and_certificate(cls, value: str, info: ValidationInfo) -> str:
        path = Path(value).expanduser()
        config_path = (info.context or {}).get(CONFIG_PATH_CONTEXT_KEY)
        if not path.is_absolute() and config_path is not None:
            path = Path(config_path).absolute().parent / path
        try:
            read_certificate_credential(path.absolute())
        except CertificateFileError as exc:
            raise PydanticCustomError("certificate_file", "{reason}", {"reason": exc.reason}) from None
        return str(path.absolute())

    @field_validator("thumbprint")
    @classmethod
    def _thumbprint_of_the_certificate(cls, value: str, info: ValidationInfo) -> str:
        try:
            thumbprint = normalize_thumbprint(value)
        except ValueError as exc:
            raise PydanticCustomError(
                "thumbprint", "{reason}, got {value}", {"reason": str(exc), "value": repr(value)}
            ) from None
        file = info.data.get("file")
        if file is not None:
            actual = read_certificate_credential(Path(file)).thumbprint
            if actual != thumbprint:
                raise PydanticCustomError(
                    "thumbprint_mismatch",
                    "{value} is not the thumbprint of the certificate in {file}, which is {actual}; upload that "
                    "certificate to the app registration (Certificates & secrets) and give the thumbprint Microsoft "
                    "Entra shows for it",
                    {"value": thumbprint, "file": file, "actual": actual},
                )
        return thumbprint

    @property
    def path(self) -> Path:
        return Path(self.file)


class GraphProviderSettings(_Section):
    """A ``calendarProviders`` entry with ``"type": "graph"``: Exchange Online mailboxes read through Microsoft
    Graph with an app registration's application permission ``Calendars.Read`` (OAuth 2.0 client credentials).

    The app proves itself with ``clientSecret`` (encrypted with ``--hash_pass``) or ``certificate``, never both.
    ``cloud`` picks the login and Graph hosts of a national cloud; ``authorityHost`` and ``graphHost`` override
    them. With ``notificationUrl`` (the public https URL of the connector's HTTP server) changes arrive as Graph
    change notifications; without it each mailbox is polled every ``pollIntervalSeconds``. Either way a delta
    round every ``reconcileMinutes`` catches anything missed.
    """

    type: Literal["graph"]
    tenant_id: TenantId
    client_id: Guid
    client_secret: EncryptedSecret | None = None
    certificate: GraphCertificate | None = None
    cloud: Literal["global", "usgov", "china"] = "global"
    authority_host: HttpsOrigin | None = None
    graph_host: HttpsOrigin | None = None
    verify_tls: Bool = True
    ca_bundle: Str | None = None
    timeout_seconds: Annotated[Number, Field(gt=0)] = 30.0
    notification_url: NotificationUrl | None = None
    poll_interval_seconds: Annotated[Number, Field(gt=0)] = 30.0
    reconcile_minutes: Annotated[Number, Field(gt=0)] = 30.0
    #: Requests in flight at once per mailbox; Exchange Online refuses a fifth with 429 (MailboxConcurrency).
    max_concurrency: Annotated[Int, Field(ge=1, le=4)] = 4
    users: tuple[Email, ...] = ()

    @model_validator(mode="after")
    def _secret_or_certificate(self) -> Self:
        if self.client_secret is not None and self.certificate is not None:
            raise PydanticCustomError(
                "graph_credential_both",
                "give clientSecret or certificate, not both (remove the one the app registration does not use)",
            )
        if self.client_secret is None and self.certificate is None:
            raise PydanticCustomError(
                "graph_credential",
                "expected clientSecret (the app registration's client secret, encrypted with tc_calendar "
                "--hash_pass) or certificate ({\"file\": \"/path/app.pem\", \"thumbprint\": \"...\"})",
            )
        return self

    @property
    def credential_kind(self) -> Literal["secret", "certificate"]:
        return "certificate" if self.certificate is not None else "secret"

    @property
    def delivery(self) -> Literal["notifications", "polling"]:
        """How changes reach the connector: Graph change notifications when there is a public URL, else polling."""
        return "notifications" if self.notification_url else "polling"


def _provider_type(value: Any) -> str:
    """Which model reads a ``calendarProviders`` entry: "graph" for ``"type": "graph"``, else the EWS model, which
    also reports a missing object or an unknown type (the seed's entries have no ``type``)."""
    if isinstance(value, GraphProviderSettings):
        return "graph"
    if isinstance(value, dict) and value.get("type") == "graph":
        return "graph"
    return "ews"


ProviderSettings = Annotated[
    Annotated[CalendarProvider, Tag("ews")] | Annotated[GraphProviderSettings, Tag("graph")],
    Discriminator(_provider_type),
]
"""One ``calendarProviders`` entry: EWS (Exchange Server) or Graph (Exchange Online), told apart by ``type``."""

PROVIDER_TAGS = frozenset({"ews", "graph"})
"""The union tags pydantic puts into error locations after ``calendarProviders[i]``; the loader drops them."""


class TrueConfSettings(_Section):
    """``trueconf``: how the connector reaches TrueConf Server's REST API to start conferences.

    Authenticate with OAuth2 client credentials (``clientId`` + ``clientSecret``) or a static ``token``.
    ``userMap`` maps an attendee's e-mail to a TrueConf ID when they differ.
    """

    url: NonEmptyStr
    client_id: NonEmptyStr | None = None
    client_secret: EncryptedSecret | None = None
    token: EncryptedSecret | None = None
    api_version: Literal["v3.11", "v4"] = "v4"
    verify_tls: Bool = True
    ca_bundle: Str | None = None
    user_map: dict[Email, NonEmptyStr] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise PydanticCustomError(
                "http_url", "expected an http:// or https:// URL such as https://tcs.example.com, got {value}",
                {"value": repr(value)},
            )
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> Self:
        if (self.client_id is None) != (self.client_secret is None):
            raise PydanticCustomError("oauth_pair", "clientId and clientSecret must be given together")
        if self.client_id is None and self.token is None:
            raise PydanticCustomError(
                "trueconf_auth", "expected clientId and clientSecret (OAuth2 application), or token"
            )
        return self


class LaunchSettings(_Section):
    """``launch``: conference start. A start missed by more than ``graceMinutes`` (e.g. while down) is skipped."""

    grace_minutes: Annotated[Int, Field(ge=0)] = 15


class ApiSettings(_Section):
    """``api``: the WebSocket API on ``wsPort``.

    A TrueConf Server peer proves ``secrets[<its server ID>]`` if present, else the shared ``secret``.
    ``tlsCert`` and ``tlsKey`` (PEM files) switch the listener to TLS. ``X-Forwarded-For``/``-Proto`` are believed
    only from ``trustedProxies`` (addresses or networks): from anyone else they would let a peer pick the address
    its sign-in back-off counts, or pass plain ws:// off as TLS.
    """

    host: NonEmptyStr = "0.0.0.0"
    secret: EncryptedSecret | None = None
    secrets: dict[NonEmptyStr, EncryptedSecret] = Field(default_factory=dict)
    tls_cert: Str | None = None
    tls_key: Str | None = None
    trusted_proxies: list[NonEmptyStr] = Field(default_factory=list)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, proxies: list[str]) -> list[str]:
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise PydanticCustomError(
                    "proxy_address",
                    "{proxy} is not an IP address or network (like 10.0.0.5 or 10.0.0.0/24)",
                    {"proxy": repr(proxy)},
                ) from None
        return proxies

    @model_validator(mode="after")
    def _tls_pair(self) -> Self:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise PydanticCustomError("tls_pair", "tlsCert and tlsKey must be given together")
        return self

    def secret_for(self, server_id: str) -> SecretStr | None:
        """The secret a peer with ``server_id`` must prove, or ``None`` when none is configured for it."""
        return self.secrets.get(server_id, self.secret)


class WebSettings(_Section):
    """``web``: sign-in for the web calendar; ``users`` maps a login to its encrypted password."""

    users: dict[NonEmptyStr, EncryptedSecret] = Field(default_factory=dict)


class LinkRule(_Section):
    """One ``linkRules`` entry: a regular expression whose named group ``id`` is the TrueConf conference ID.

    Configured rules are tried, in order, before the built-in ones.
    """

    name: NonEmptyStr
    pattern: Str
    fields: tuple[Literal["location", "body"], ...] = ("location", "body")

    @field_validator("pattern")
    @classmethod
    def _compiles_with_id_group(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise PydanticCustomError(
                "regex", "not a valid regular expression: {reason}", {"reason": str(exc)}
            ) from exc
        if "id" not in compiled.groupindex:
            raise PydanticCustomError(
                "regex_id", "the regular expression needs a named group id, as in (?P<id>[A-Za-z0-9_-]+)"
            )
        return value

    @field_validator("fields")
    @classmethod
    def _some_fields(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise PydanticCustomError("no_fields", "expected at least one of \"location\", \"body\"")
        return value

    @property
    def regex(self) -> re.Pattern[str]:
        """The compiled pattern (``re`` caches compilations, so this is cheap to call)."""
        return re.compile(self.pattern)


class RegistrationSettings(_Section):
    """``registration``: the registration server, the key licences are checked with, and the licence file.

    ``publicKey`` (base64 Ed25519) replaces the built-in key, for a self-hosted registration server.
    """

    server: NonEmptyStr = "https://reg.trueconf.com:4310"
    public_key: Str | None = None
    license_file: NonEmptyStr = "license.json"

    @field_validator("public_key")
    @classmethod
    def _is_a_key(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_public_key(value)
            except ValueError as exc:
                raise PydanticCustomError(
                    "public_key", "expected an Ed25519 public key as base64 text: {reason}", {"reason": str(exc)}
                ) from None
        return value


class Settings(_Section):
    """All of ``config.json``. Build it with :func:`tc_calendar.config.load_settings`."""

    ws_port: Port = 4315
    db_connection_config: DbConnectionConfig | None = None
    launch_conference: Bool = True
    temporal_conf_participants_mode: Bool = False
    cache: CacheSettings = Field(default_factory=lambda: CacheSettings.model_validate({}))
    product_whitelist: ProductWhitelist = Field(default_factory=lambda: ProductWhitelist.model_validate({}))
    calendar_providers: tuple[ProviderSettings, ...]
    sqlite_path: NonEmptyStr = "calendar.db"
    key_file_setting: Str | None = Field(default=None, alias="keyFile")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["text", "json"] = "text"
    account_limit: Annotated[Int, Field(ge=1)] | None = None
    #: Processes that make the EWS entries' reads (0: the connector's own); absent: one per core beyond the first.
    workers: Annotated[Int, Field(ge=0, le=64)] | None = None
    trueconf: TrueConfSettings | None = None
    launch: LaunchSettings = Field(default_factory=lambda: LaunchSettings.model_validate({}))
    cluster: ClusterSettings = Field(default_factory=lambda: ClusterSettings.model_validate({}))
    api: ApiSettings = Field(default_factory=lambda: ApiSettings.model_validate({}))
    web: WebSettings = Field(default_factory=lambda: WebSettings.model_validate({}))
    link_rules: tuple[LinkRule, ...] = ()
    registration: RegistrationSettings = Field(default_factory=lambda: RegistrationSettings.model_validate({}))

    _config_path: Path = PrivateAttr(default=DEFAULT_CONFIG_PATH)
    _key_file: Path | None = PrivateAttr(default=None)

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_case_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _remember_where_from(self, info: ValidationInfo) -> Self:
        context = info.context or {}
        if CONFIG_PATH_CONTEXT_KEY in context:
            self._config_path = Path(context[CONFIG_PATH_CONTEXT_KEY]).absolute()
        if KEY_FILE_CONTEXT_KEY in context:
            self._key_file = Path(context[KEY_FILE_CONTEXT_KEY]).absolute()
        return self

    @property
    def config_path(self) -> Path:
        """The absolute path of the file these settings came from."""
        return self._config_path

    @property
    def config_dir(self) -> Path:
        """Relative paths in the file (``sqlitePath``, ``keyFile``) are relative to this directory."""
        return self._config_path.parent

    @property
    def key_file(self) -> Path:
        """The key file that decrypted the secrets (``--key-file``, ``TC_CALENDAR_KEY_FILE``, ``keyFile``...)."""
        if self._key_file is not None:
            return self._key_file
        return self.resolve(self.key_file_setting or "calendar.key")

    @property
    def sqlite_file(self) -> Path:
        """The embedded database file, used when there is no ``dbConnectionConfig``."""
        return self.resolve(self.sqlite_path)

    @property
    def database_kind(self) -> Literal["postgresql", "sqlite"]:
        return "sqlite" if self.db_connection_config is None else "postgresql"

    @property
    def database_url(self) -> str:
        """The SQLAlchemy async URL; contains the decrypted database password, so never log it."""
        db = self.db_connection_config
        if db is None:
            return f"sqlite+aiosqlite:///{self.sqlite_file}"
        password = db.password.get_secret_value() or None
        query = {} if db.schema_ is None else {"schema": db.schema_}
        url = URL.create("postgresql+asyncpg", db.user, password, db.host, db.port, db.database, query)
        return url.render_as_string(hide_password=False)

    def resolve(self, path: str) -> Path:
        """``path`` from the file made absolute: ``~`` expanded, relative to the config file's directory."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.config_dir / candidate

    def secret_values(self) -> tuple[str, ...]:
        """Every decrypted secret that is not empty, for the log filter that keeps them out of the logs."""
        found: list[str] = []
        _collect_secrets(self, found)
        return tuple(dict.fromkeys(found))


def _collect_secrets(value: object, found: list[str]) -> None:
    if isinstance(value, SecretStr):
        if plain := value.get_secret_value():
            found.append(plain)
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _collect_secrets(getattr(value, name), found)
    elif isinstance(value, dict):
        for item in value.values():
            _collect_secrets(item, found)
    elif isinstance(value, tuple | list):
        for item in value:
            _collect_secrets(item, found)
