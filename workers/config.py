"""Settings: the environment, read once into one frozen object (the only env reader)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from db.roles import RoleNames
from db.urls import (
    SCHEMA_NAME,
    host_and_port_problem,
    is_postgres_url,
    with_search_path,
)
from workers.delete_scope import DeleteScope as DeleteScope
from workers.env_values import (
    SettingsError as SettingsError,
)
from workers.env_values import (
    basic_auth,
    check_url,
    delete_scope,
    flag,
    fraction,
    is_http_url,
    positive_int,
    public_url,
    redis_url_problem,
    share_or_off,
    whole,
)

REQUIRED_FOR_ALL = ("DATABASE_URL", "REDIS_URL", "CLOUDINARY_URL")


@dataclass(frozen=True)
class CloudinaryAccount:
    cloud_name: str
    api_key: str
    api_secret: str = field(repr=False)
    # The API host; set to the emulator's address to run without a Cloudinary account.
    upload_prefix: str | None = None
    signature_algorithm: str = "sha1"

    @classmethod
    def parse(cls, url: str) -> CloudinaryAccount:
        """Parse `cloudinary://KEY:SECRET@CLOUD[?upload_prefix=…&signature_algorithm=…]`."""
        parts = urlsplit(url)
        if parts.scheme != "cloudinary" or not parts.hostname:
            raise ValueError("expected cloudinary://API_KEY:API_SECRET@CLOUD_NAME")
        if not parts.username or not parts.password:
            raise ValueError("the API key and secret are missing")
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        algorithm = query.get("signature_algorithm", "sha1")
        if algorithm not in ("sha1", "sha256"):
            raise ValueError("signature_algorithm must be sha1 or sha256")
        prefix = query.get("upload_prefix")
        if prefix is not None and not is_http_url(prefix):
            raise ValueError("upload_prefix must be an http:// or https:// URL")
        return cls(
            cloud_name=parts.hostname,
            api_key=unquote(parts.username),
            api_secret=unquote(parts.password),
            # The SDK builds URLs by joining with "/": a trailing slash would double it.
            upload_prefix=prefix.rstrip("/") if prefix else None,
            signature_algorithm=algorithm,
        )

    def sdk_config(self) -> dict[str, str]:
        """Keyword arguments for `cloudinary.config(...)`."""
        config = {
            "cloud_name": self.cloud_name,
            "api_key": self.api_key,
            "api_secret": self.api_secret,
            "signature_algorithm": self.signature_algorithm,
        }
        if self.upload_prefix:
            config["upload_prefix"] = self.upload_prefix
        return config


CONSOLE_KINDS = ("admin", "read")
SHARED_LOGIN_NAME = "operator"  # MEDIASYNC_API_TOKEN's name in the console


@dataclass(frozen=True)
class ConsoleOperator:
    """One console login of MEDIASYNC_CONSOLE_OPERATORS: `read` may look, `admin` may act."""

    name: str
    token: str = field(repr=False)
    kind: str = "admin"

    @classmethod
    def parse_all(cls, raw: str) -> tuple[ConsoleOperator, ...]:
        """`alice:TOKEN:admin,bob:TOKEN:read`; errors never quote it (it holds secrets)."""
        found: dict[str, ConsoleOperator] = {}
        for number, item in enumerate(raw.split(",") if raw.strip() else [], start=1):
            name, _, rest = item.strip().partition(":")
            token, _, kind = rest.rpartition(":")
            problem = f"MEDIASYNC_CONSOLE_OPERATORS: entry {number}"
            if not name or not token or kind not in CONSOLE_KINDS:
                raise SettingsError(f"{problem} is not name:token:admin|read")
            if name in found or name == SHARED_LOGIN_NAME:
                raise SettingsError(f"{problem}: the name {name!r} is taken")
            found[name] = cls(name, token, kind)
        return tuple(found.values())


# `mediasync migrate --roles` gives each role its password from these (receiver, worker, app)
PASSWORD_VARIABLES = (
    "MEDIASYNC_RECEIVER_PASSWORD",
    "MEDIASYNC_WORKER_PASSWORD",
    "MEDIASYNC_APP_PASSWORD",
)


@dataclass(frozen=True)
class Settings:
    # With MEDIASYNC_SCHEMA set, both URLs carry it as their search_path (db/urls.py).
    database_url: str
    redis_url: str
    cloudinary: CloudinaryAccount | None
    # MEDIASYNC_SCHEMA: where every mediasync table, function and trigger lives; None: the
    # server's default (public), where installs before it have them.
    schema: str | None = None
    # MEDIASYNC_ASSETS_VIEW: a schema of the host's that gets a `media_assets` view of the
    # mirror (`mediasync migrate` keeps it), so the app keeps the simple name.
    assets_view_schema: str | None = None
    # MEDIASYNC_OPERATOR_DATABASE_URL: the operator API, console and gauges of the receiver
    # read and act beyond the inbox; with least-privilege roles DATABASE_URL is the
    # receiver role's (INSERT/SELECT on the inbox only), so they get their own.
    operator_database_url: str | None = None
    # `mediasync roles`: the names of the three roles and the passwords to give them.
    roles: RoleNames = field(default_factory=RoleNames)
    role_passwords: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    broker_url: str = ""
    webhook_max_age_s: int = 7200
    # Extra secrets that also verify webhooks, for key rotation (the account's secret always does).
    webhook_secrets: tuple[str, ...] = field(default=(), repr=False)
    api_token: str | None = field(default=None, repr=False)
    # a read-only token for GET /api/changes alone (the change feed also takes api_token)
    feed_token: str | None = field(default=None, repr=False)
    feed_retention_days: int = 7
    log_retention_days: int = 30
    log_format: str = "text"
    log_level: str = "INFO"
    # `user:password` for Flower's basic auth; Flower refuses to listen beyond loopback without it.
    flower_basic_auth: str | None = field(default=None, repr=False)
    # Beat intervals (seconds); see workers/beat/schedule.py.
    sweep_interval_s: int = 30
    # The inbox sweep only probes an index, so it can run often: a lost wake-up then costs
    # seconds, not the cleanup sweep's 30 s.
    inbox_sweep_interval_s: int = 5
    canary_interval_s: int = 60
    reconcile_interval_s: int = 300
    full_reconcile_interval_s: int = 86400
    retention_interval_s: int = 86400
    # Reconciliation safety and budget (see workers/reconcile/driver.py).
    reconcile_max_deletes: int = 1000
    reconcile_max_delete_share: float = 0.5
    reconcile_budget_share: float = 0.5
    reconcile_grace_s: int = 300
    reconcile_overlap_s: int = 300
    # Cleanup waits for an Admin API reset at most this far away (seconds) instead of
    # deleting one asset per call through destroy (see workers/cleanup/drain.py).
    cleanup_max_reset_wait_s: int = 60
    # Delete guardrails (README "Safety", workers/cleanup/guard.py). The mass-delete breaker
    # trips when more cleanups are queued within the window than the smaller of the two
    # limits (never below BREAKER_FLOOR rows); 0 switches a limit (or, for the window, the
    # breaker) off.
    delete_breaker_window_s: int = 600
    delete_breaker_max_rows: int = 500
    delete_breaker_max_share: float = 0.10
    # a cleanup is sent only this long after the delete (seconds): time to undo it
    delete_delay_s: int = 0
    # only assets inside it are ever deleted from Cloudinary; None: every asset
    delete_scope: DeleteScope | None = None
    # ask Cloudinary to purge CDN caches of deleted assets
    delete_invalidate: bool = False
    # Testing aid only (MEDIASYNC_APPLY_ROW_DELAY_MS): the inbox apply sleeps this long after
    # each row, inside its transaction, so a test can kill a worker mid-batch. Leave it unset.
    apply_row_delay_ms: int = 0
    # PROMETHEUS_MULTIPROC_DIR: where gunicorn workers share their metrics (prometheus_client
    # reads it itself at import; the receiver needs it to add the workers' samples up).
    prometheus_multiproc_dir: str | None = None
    # MEDIASYNC_PUBLIC_URL: how Cloudinary reaches this receiver (https://host[/prefix]); the
    # operator API signs it into browser uploads' notification_url. Unset: the request's host.
    public_url: str | None = None
    # MEDIASYNC_FEED_PUBLIC_URL: where browsers reach `mediasync feed` (https://host[/prefix]);
    # the console's live changes page opens /api/changes there. Unset: no live view.
    feed_public_url: str | None = None
    # MEDIASYNC_CONSOLE_OPERATORS: named console logins besides the operator token's
    # (webhook_receiver/console/); MEDIASYNC_CONSOLE_SESSION_MAX_AGE: seconds a login lasts.
    console_operators: tuple[ConsoleOperator, ...] = field(default=(), repr=False)
    console_session_max_age_s: int = 8 * 3600

    def __post_init__(self) -> None:
        if not self.broker_url:
            object.__setattr__(self, "broker_url", self.redis_url)

    @property
    def operator_url(self) -> str:
        """The operator side's database URL: its own, else DATABASE_URL (read here, not
        copied at construction, so a replaced database_url carries over)."""
        return self.operator_database_url or self.database_url

    @property
    def account(self) -> CloudinaryAccount:
        if self.cloudinary is None:
            raise SettingsError("CLOUDINARY_URL is not set")
        return self.cloudinary

    @property
    def verification_secrets(self) -> tuple[str, ...]:
        own = (self.cloudinary.api_secret,) if self.cloudinary else ()
        return own + tuple(s for s in self.webhook_secrets if s not in own)

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], *, required: Iterable[str] = REQUIRED_FOR_ALL
    ) -> Settings:
        """Read and check every variable; raise SettingsError naming the first bad one."""
        required = set(required)

        def get(name: str) -> str:
            value = env.get(name, "").strip()
            if not value and name in required:
                raise SettingsError(f"{name} is not set")
            return value

        schema = _schema(env, "MEDIASYNC_SCHEMA")
        database_url = _database_url(env, get("DATABASE_URL"), "DATABASE_URL", schema)
        operator_url = _database_url(
            env,
            env.get("MEDIASYNC_OPERATOR_DATABASE_URL", "").strip(),
            "MEDIASYNC_OPERATOR_DATABASE_URL",
            schema,
        )
        redis_url = get("REDIS_URL")
        check_url("REDIS_URL", redis_url, redis_url_problem)
        broker_url = env.get("CELERY_BROKER_URL", "").strip()
        check_url("CELERY_BROKER_URL", broker_url, redis_url_problem)
        cloudinary_url = get("CLOUDINARY_URL")
        try:
            account = (
                CloudinaryAccount.parse(cloudinary_url) if cloudinary_url else None
            )
        except ValueError as exc:
            raise SettingsError(f"CLOUDINARY_URL is malformed: {exc}") from None
        log_format = env.get("MEDIASYNC_LOG_FORMAT", "text").strip() or "text"
        if log_format not in ("text", "json"):
            raise SettingsError("MEDIASYNC_LOG_FORMAT must be text or json")
        log_level = env.get("MEDIASYNC_LOG_LEVEL", "INFO").strip().upper() or "INFO"
        if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise SettingsError(
                "MEDIASYNC_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR"
            )
        roles = RoleNames(
            receiver=_role(env, "MEDIASYNC_RECEIVER_ROLE", RoleNames.receiver),
            worker=_role(env, "MEDIASYNC_WORKER_ROLE", RoleNames.worker),
            app=_role(env, "MEDIASYNC_APP_ROLE", RoleNames.app),
        )
        return cls(
            database_url=database_url,
            redis_url=redis_url,
            cloudinary=account,
            schema=schema,
            assets_view_schema=_schema(env, "MEDIASYNC_ASSETS_VIEW"),
            operator_database_url=operator_url or None,
            roles=roles,
            role_passwords=tuple(
                (role, env[variable])
                for variable, role in zip(PASSWORD_VARIABLES, roles.all(), strict=True)
                if env.get(variable)
            ),
            broker_url=broker_url,
            webhook_max_age_s=positive_int(env, "MEDIASYNC_WEBHOOK_MAX_AGE", 7200),
            webhook_secrets=tuple(
                s.strip()
                for s in env.get("MEDIASYNC_WEBHOOK_SECRETS", "").split(",")
                if s.strip()
            ),
            api_token=env.get("MEDIASYNC_API_TOKEN", "").strip() or None,
            feed_token=env.get("MEDIASYNC_FEED_TOKEN", "").strip() or None,
            feed_retention_days=positive_int(env, "MEDIASYNC_FEED_RETENTION_DAYS", 7),
            log_retention_days=positive_int(env, "MEDIASYNC_LOG_RETENTION_DAYS", 30),
            log_format=log_format,
            log_level=log_level,
            flower_basic_auth=basic_auth(env),
            sweep_interval_s=positive_int(env, "MEDIASYNC_SWEEP_INTERVAL", 30),
            inbox_sweep_interval_s=positive_int(
                env, "MEDIASYNC_INBOX_SWEEP_INTERVAL", 5
            ),
            canary_interval_s=positive_int(env, "MEDIASYNC_CANARY_INTERVAL", 60),
            reconcile_interval_s=positive_int(env, "MEDIASYNC_RECONCILE_INTERVAL", 300),
            full_reconcile_interval_s=positive_int(
                env, "MEDIASYNC_FULL_RECONCILE_INTERVAL", 86400
            ),
            retention_interval_s=positive_int(
                env, "MEDIASYNC_RETENTION_INTERVAL", 86400
            ),
            reconcile_max_deletes=positive_int(
                env, "MEDIASYNC_RECONCILE_MAX_DELETES", 1000
            ),
            reconcile_max_delete_share=fraction(
                env, "MEDIASYNC_RECONCILE_MAX_DELETE_SHARE", 0.5
            ),
            reconcile_budget_share=fraction(
                env, "MEDIASYNC_RECONCILE_BUDGET_SHARE", 0.5
            ),
            reconcile_grace_s=positive_int(env, "MEDIASYNC_RECONCILE_GRACE", 300),
            reconcile_overlap_s=positive_int(env, "MEDIASYNC_RECONCILE_OVERLAP", 300),
            cleanup_max_reset_wait_s=positive_int(
                env, "MEDIASYNC_CLEANUP_MAX_RESET_WAIT", 60
            ),
            delete_breaker_window_s=whole(env, "MEDIASYNC_DELETE_BREAKER_WINDOW", 600),
            delete_breaker_max_rows=whole(
                env, "MEDIASYNC_DELETE_BREAKER_MAX_ROWS", 500
            ),
            delete_breaker_max_share=share_or_off(
                env, "MEDIASYNC_DELETE_BREAKER_MAX_SHARE", 0.10
            ),
            delete_delay_s=whole(env, "MEDIASYNC_DELETE_DELAY", 0),
            delete_scope=delete_scope(env),
            delete_invalidate=flag(env, "MEDIASYNC_DELETE_INVALIDATE"),
            apply_row_delay_ms=positive_int(env, "MEDIASYNC_APPLY_ROW_DELAY_MS", 0),
            prometheus_multiproc_dir=env.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
            or None,
            public_url=public_url(env),
            feed_public_url=public_url(env, "MEDIASYNC_FEED_PUBLIC_URL"),
            console_operators=ConsoleOperator.parse_all(
                env.get("MEDIASYNC_CONSOLE_OPERATORS", "")
            ),
            console_session_max_age_s=positive_int(
                env, "MEDIASYNC_CONSOLE_SESSION_MAX_AGE", 8 * 3600
            ),
        )


def _schema(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    if raw and not SCHEMA_NAME.match(raw):
        raise SettingsError(
            f"{name} must be a plain lower-case name (letters, digits, _), got {raw!r}"
        )
    return raw or None


def _role(env: Mapping[str, str], name: str, default: str) -> str:
    return _schema(env, name) or default


def _database_url(
    env: Mapping[str, str], url: str, name: str, schema: str | None
) -> str:
    if url and not is_postgres_url(url):
        raise SettingsError(
            f"{name} must be a postgresql:// (or postgresql+psycopg://) URL"
        )
    check_url(name, url, host_and_port_problem)
    return with_search_path(url, schema) if url and schema else url
