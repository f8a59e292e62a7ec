"""Settings: the environment, read once into one frozen object (the only env reader)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from db.urls import host_and_port_problem, is_postgres_url
from workers.delete_scope import DeleteScope as DeleteScope

T = TypeVar("T")

REQUIRED_FOR_ALL = ("DATABASE_URL", "REDIS_URL", "CLOUDINARY_URL")


class SettingsError(Exception):
    """A missing or malformed environment variable; the message names it."""


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
        if prefix is not None and not _is_http_url(prefix):
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


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str
    cloudinary: CloudinaryAccount | None
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
    # MEDIASYNC_CONSOLE_OPERATORS: named console logins besides the operator token's
    # (webhook_receiver/console/); MEDIASYNC_CONSOLE_SESSION_MAX_AGE: seconds a login lasts.
    console_operators: tuple[ConsoleOperator, ...] = field(default=(), repr=False)
    console_session_max_age_s: int = 8 * 3600

    def __post_init__(self) -> None:
        if not self.broker_url:
            object.__setattr__(self, "broker_url", self.redis_url)

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

        database_url = get("DATABASE_URL")
        if database_url and not is_postgres_url(database_url):
            raise SettingsError(
                "DATABASE_URL must be a postgresql:// (or postgresql+psycopg://) URL"
            )
        _check_url("DATABASE_URL", database_url, host_and_port_problem)
        redis_url = get("REDIS_URL")
        _check_url("REDIS_URL", redis_url, _redis_url_problem)
        broker_url = env.get("CELERY_BROKER_URL", "").strip()
        _check_url("CELERY_BROKER_URL", broker_url, _redis_url_problem)
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
        return cls(
            database_url=database_url,
            redis_url=redis_url,
            cloudinary=account,
            broker_url=broker_url,
            webhook_max_age_s=_positive_int(env, "MEDIASYNC_WEBHOOK_MAX_AGE", 7200),
            webhook_secrets=tuple(
                s.strip()
                for s in env.get("MEDIASYNC_WEBHOOK_SECRETS", "").split(",")
                if s.strip()
            ),
            api_token=env.get("MEDIASYNC_API_TOKEN", "").strip() or None,
            feed_token=env.get("MEDIASYNC_FEED_TOKEN", "").strip() or None,
            feed_retention_days=_positive_int(env, "MEDIASYNC_FEED_RETENTION_DAYS", 7),
            log_retention_days=_positive_int(env, "MEDIASYNC_LOG_RETENTION_DAYS", 30),
            log_format=log_format,
            log_level=log_level,
            flower_basic_auth=_basic_auth(env),
            sweep_interval_s=_positive_int(env, "MEDIASYNC_SWEEP_INTERVAL", 30),
            inbox_sweep_interval_s=_positive_int(
                env, "MEDIASYNC_INBOX_SWEEP_INTERVAL", 5
            ),
            canary_interval_s=_positive_int(env, "MEDIASYNC_CANARY_INTERVAL", 60),
            reconcile_interval_s=_positive_int(
                env, "MEDIASYNC_RECONCILE_INTERVAL", 300
            ),
            full_reconcile_interval_s=_positive_int(
                env, "MEDIASYNC_FULL_RECONCILE_INTERVAL", 86400
            ),
            retention_interval_s=_positive_int(
                env, "MEDIASYNC_RETENTION_INTERVAL", 86400
            ),
            reconcile_max_deletes=_positive_int(
                env, "MEDIASYNC_RECONCILE_MAX_DELETES", 1000
            ),
            reconcile_max_delete_share=_fraction(
                env, "MEDIASYNC_RECONCILE_MAX_DELETE_SHARE", 0.5
            ),
            reconcile_budget_share=_fraction(
                env, "MEDIASYNC_RECONCILE_BUDGET_SHARE", 0.5
            ),
            reconcile_grace_s=_positive_int(env, "MEDIASYNC_RECONCILE_GRACE", 300),
            reconcile_overlap_s=_positive_int(env, "MEDIASYNC_RECONCILE_OVERLAP", 300),
            cleanup_max_reset_wait_s=_positive_int(
                env, "MEDIASYNC_CLEANUP_MAX_RESET_WAIT", 60
            ),
            delete_breaker_window_s=_whole(env, "MEDIASYNC_DELETE_BREAKER_WINDOW", 600),
            delete_breaker_max_rows=_whole(
                env, "MEDIASYNC_DELETE_BREAKER_MAX_ROWS", 500
            ),
            delete_breaker_max_share=_share_or_off(
                env, "MEDIASYNC_DELETE_BREAKER_MAX_SHARE", 0.10
            ),
            delete_delay_s=_whole(env, "MEDIASYNC_DELETE_DELAY", 0),
            delete_scope=_delete_scope(env),
            delete_invalidate=_flag(env, "MEDIASYNC_DELETE_INVALIDATE"),
            apply_row_delay_ms=_positive_int(env, "MEDIASYNC_APPLY_ROW_DELAY_MS", 0),
            prometheus_multiproc_dir=env.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
            or None,
            public_url=_public_url(env),
            console_operators=ConsoleOperator.parse_all(
                env.get("MEDIASYNC_CONSOLE_OPERATORS", "")
            ),
            console_session_max_age_s=_positive_int(
                env, "MEDIASYNC_CONSOLE_SESSION_MAX_AGE", 8 * 3600
            ),
        )


def _redis_url_problem(url: str) -> str | None:
    if url.startswith("unix://"):
        return None
    if not url.startswith(("redis://", "rediss://")):
        return "must be a redis:// or rediss:// URL"
    database = urlsplit(url).path.strip("/")
    if database and not database.isdigit():
        return f"the Redis database must be a number (redis://host:port/0), got {database!r}"
    return host_and_port_problem(url)


def _check_url(name: str, url: str, problem: Callable[[str], str | None]) -> None:
    found = problem(url) if url else None
    if found:
        # "must be …" reads after the name; the others after a colon
        raise SettingsError(
            f"{name} {found}" if found.startswith("must") else f"{name}: {found}"
        )


def _read(
    env: Mapping[str, str], name: str, parse: Callable[[str], T], what: str
) -> T | None:
    """The variable parsed (None when unset); SettingsError naming it if not `what`."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        return parse(raw)
    except ValueError:
        raise SettingsError(f"{name} must be {what}, got {raw!r}") from None


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = _read(env, name, int, "a whole number")
    if value is None:
        return default
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {value}")
    return value


def _whole(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole number >= 0 (0: off)."""
    value = _read(env, name, int, "a whole number")
    if value is None:
        return default
    if value < 0:
        raise SettingsError(f"{name} must be 0 (off) or more, got {value}")
    return value


def _share_or_off(env: Mapping[str, str], name: str, default: float) -> float:
    """A share in [0, 1] (0: off)."""
    value = _read(env, name, float, "a number")
    if value is None:
        return default
    if not 0 <= value <= 1:
        raise SettingsError(f"{name} must be 0 (off) up to 1, got {value}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _delete_scope(env: Mapping[str, str]) -> DeleteScope | None:
    raw = env.get("MEDIASYNC_DELETE_SCOPE", "").strip()
    if not raw:
        return None
    try:
        return DeleteScope.parse(raw)
    except ValueError as exc:
        raise SettingsError(f"MEDIASYNC_DELETE_SCOPE is malformed: {exc}") from None


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _public_url(env: Mapping[str, str]) -> str | None:
    raw = env.get("MEDIASYNC_PUBLIC_URL", "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if not _is_http_url(raw):
        raise SettingsError("MEDIASYNC_PUBLIC_URL must be an http:// or https:// URL")
    if parts.query or parts.fragment:
        raise SettingsError("MEDIASYNC_PUBLIC_URL must not have a query or fragment")
    return raw.rstrip("/")


def _basic_auth(env: Mapping[str, str]) -> str | None:
    raw = env.get("FLOWER_BASIC_AUTH", "").strip()
    if not raw:
        return None
    user, _, password = raw.partition(":")
    if not user or not password:
        raise SettingsError("FLOWER_BASIC_AUTH must be user:password")
    return raw


def _fraction(env: Mapping[str, str], name: str, default: float) -> float:
    """A share in (0, 1]: 0 would switch the feature off silently, so it is refused."""
    value = _read(env, name, float, "a number")
    if value is None:
        return default
    if not 0 < value <= 1:
        raise SettingsError(f"{name} must be above 0 and at most 1, got {value}")
    return value
