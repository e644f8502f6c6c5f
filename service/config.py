"""Settings read from the environment once, validated, and frozen.

Every variable in README's configuration table is read here and nowhere else. A bad value stops
start-up with a `ConfigError` naming the variable, so a misconfigured dyno
fails at boot instead of at the first request.
"""

from __future__ import annotations

import base64
import binascii
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from .netutil import is_loopback_host

ENVIRONMENTS = ("development", "test", "production")
EMAIL_BACKENDS = ("console", "smtp", "sendgrid")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
PROJECT_ROOT = Path(__file__).resolve().parent.parent

T = TypeVar("T")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True)
class Settings:
    app_env: str = "development"
    database_url: str = ""
    port: int = 8000
    metrics_token: str | None = None
    admin_token: str | None = None
    admin_readonly_token: str | None = None
    stripe_webhook_secrets: tuple[str, ...] = ()
    stripe_webhook_tolerance_seconds: int = 300
    stripe_api_key: str | None = None
    stripe_api_base: str = "https://api.stripe.com"
    email_backend: str = "console"
    smtp_url: str | None = None
    sendgrid_api_key: str | None = None
    sendgrid_api_base: str = "https://api.sendgrid.com"
    email_from: str = "billing@example.com"
    email_max_attempts: int = 8
    email_claim_seconds: float = 40.0
    job_heartbeat_ttl_seconds: float = 60.0
    job_heartbeat_interval_seconds: float = 15.0
    email_dispatch_interval_seconds: float = 5.0
    email_dlq_interval_seconds: float = 30.0
    email_retry_base_seconds: float = 30.0
    email_retry_max_seconds: float = 3600.0
    circuit_failure_threshold: int = 5
    circuit_reset_seconds: float = 30.0
    retention_days: int = 30
    audit_retention_days: int = 365
    # Email at scale (README "Email dispatch"): per-process send slots, the
    # fleet-wide rate cap (None: no cap), SendGrid's Event Webhook key, and
    # how long a receipt stays worth sending.
    email_concurrency: int = 4
    email_rate_limit_per_second: float | None = None
    sendgrid_webhook_public_key: str | None = None
    email_receipt_valid_days: float = 7.0
    web_threads: int = 4
    # Performance (docs/PERFORMANCE.md): how long a web worker reuses its
    # database answers for /readyz and the database-backed /metrics families.
    probe_cache_seconds: float = 1.0
    log_level: str = "INFO"
    log_format: str = "text"
    build_version: str = "0.1.0"
    build_commit: str = "unknown"
    dyno: str = "local"
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    def token_required(self, configured: str | None) -> bool:
        """A token is required in production, and whenever it is set (README)."""
        return self.is_production or configured is not None

    def __repr__(self) -> str:  # never print tokens, even in a debugger
        return f"Settings(app_env={self.app_env!r}, email_backend={self.email_backend!r})"


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _parse(env: Mapping[str, str], name: str, cast: Callable[[str], T], default: T) -> T:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        return cast(raw)
    except ValueError:
        raise ConfigError(name, f"{raw!r} is not a valid {cast.__name__}") from None


def _positive(env: Mapping[str, str], name: str, cast: Callable[[str], T], default: T) -> T:
    value = _parse(env, name, cast, default)
    if value <= 0:  # type: ignore[operator]  # T is int or float here
        raise ConfigError(name, f"must be greater than 0, got {value}")
    return value


def _non_negative(env: Mapping[str, str], name: str, default: float) -> float:
    value = _parse(env, name, float, default)
    if not 0 <= value <= 60:
        raise ConfigError(name, f"must be between 0 and 60 seconds, got {value}")
    return value


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = _get(env, name) or default
    normalized = value.upper() if name == "LOG_LEVEL" else value.lower()
    if normalized not in choices:
        raise ConfigError(name, f"{value!r} is not one of {', '.join(choices)}")
    return normalized


def normalize_database_url(url: str) -> str:
    """Heroku-style `postgres://` and plain `postgresql://` both mean psycopg 3."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError("DATABASE_URL", "is not a URL (expected scheme://...)")
    if scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    if scheme in ("postgresql+psycopg", "sqlite") or scheme.startswith("sqlite+"):
        return url
    raise ConfigError("DATABASE_URL", f"unsupported scheme {scheme!r} (postgresql or sqlite)")


def _database_url(env: Mapping[str, str], app_env: str) -> str:
    raw = _get(env, "DATABASE_URL")
    if raw is None:
        if app_env == "production":
            raise ConfigError("DATABASE_URL", "is required when APP_ENV=production")
        return f"sqlite:///{PROJECT_ROOT / 'var' / f'{app_env}.sqlite3'}"
    return normalize_database_url(raw)


def _url_password(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def _check_email(env: Mapping[str, str], backend: str, app_env: str) -> None:
    if backend == "console" and app_env == "production":
        raise ConfigError(
            "EMAIL_BACKEND", "console sends nothing; use smtp or sendgrid in production"
        )
    if backend == "smtp":
        url = _get(env, "SMTP_URL")
        if url is None:
            raise ConfigError("SMTP_URL", "is required when EMAIL_BACKEND=smtp")
        target = SmtpTarget.parse(url)  # raises ConfigError naming SMTP_URL
        if app_env == "production":
            _refuse_cleartext_login(target)
    if backend == "sendgrid" and _get(env, "SENDGRID_API_KEY") is None:
        raise ConfigError("SENDGRID_API_KEY", "is required when EMAIL_BACKEND=sendgrid")


def _dyno(env: Mapping[str, str]) -> str:
    """This instance's name (Procfile platforms set DYNO, e.g. `web.2`), the `dyno`
    label of the HTTP metrics; the host name where it is unset."""
    name = _get(env, "DYNO") or socket.gethostname() or "local"
    if len(name) > 100 or not name.isprintable():
        raise ConfigError("DYNO", "must be at most 100 printable characters")
    return name


def _optional_positive(env: Mapping[str, str], name: str) -> float | None:
    if _get(env, name) is None:
        return None
    return _positive(env, name, float, 1.0)


def _public_key(env: Mapping[str, str]) -> str | None:
    """SENDGRID_WEBHOOK_PUBLIC_KEY: base64 of a DER public key, as SendGrid shows it."""
    raw = _get(env, "SENDGRID_WEBHOOK_PUBLIC_KEY")
    if raw is None:
        return None
    try:
        base64.b64decode("".join(raw.split()), validate=True)
    except (ValueError, binascii.Error):
        raise ConfigError("SENDGRID_WEBHOOK_PUBLIC_KEY", "is not base64 (DER public key)") from None
    return "".join(raw.split())


def _refuse_cleartext_login(target: SmtpTarget) -> None:
    """Production: a password never crosses the network in the clear. A relay
    on the same machine (loopback) is the one exception."""
    encrypted = target.implicit_tls or target.starttls
    has_credentials = target.username is not None or target.password is not None
    if has_credentials and not encrypted and not is_loopback_host(target.host):
        raise ConfigError(
            "SMTP_URL",
            "sends credentials in cleartext; use smtps:// or add ?starttls=true "
            "(only a loopback relay may take a plain login in production)",
        )


# Hardening (docs/SECURITY.md): bearer tokens are long and each one distinct,
# so one leaked scrape token never opens the admin API.
TOKEN_VARIABLES = ("ADMIN_TOKEN", "METRICS_TOKEN", "ADMIN_READONLY_TOKEN")
MIN_TOKEN_LENGTH = 32


def _check_tokens(env: Mapping[str, str]) -> None:
    seen: dict[str, str] = {}
    for name in TOKEN_VARIABLES:
        value = _get(env, name)
        if value is None:
            continue
        if len(value) < MIN_TOKEN_LENGTH:
            raise ConfigError(
                name, f"must be at least {MIN_TOKEN_LENGTH} characters (got {len(value)})"
            )
        if value in seen:
            raise ConfigError(name, f"must differ from {seen[value]}")
        seen[value] = name


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, object] | None = None
) -> Settings:
    """Read the service's variables from `environ` (default os.environ) plus overrides."""
    env: dict[str, str] = dict(os.environ if environ is None else environ)
    env.update({k: str(v) for k, v in (overrides or {}).items() if v is not None})

    app_env = _choice(env, "APP_ENV", ENVIRONMENTS, "development")
    database_url = _database_url(env, app_env)
    ttl = _positive(env, "JOB_HEARTBEAT_TTL_SECONDS", float, 60.0)
    backend = _choice(env, "EMAIL_BACKEND", EMAIL_BACKENDS, "console")
    _check_email(env, backend, app_env)
    _check_tokens(env)
    port = _parse(env, "PORT", int, 8000)
    if not 0 < port < 65536:
        raise ConfigError("PORT", f"{port} is not a TCP port")
    secrets_csv = _get(env, "STRIPE_WEBHOOK_SECRET") or ""
    webhook_secrets = tuple(s.strip() for s in secrets_csv.split(",") if s.strip())
    settings = Settings(
        app_env=app_env,
        database_url=database_url,
        port=port,
        metrics_token=_get(env, "METRICS_TOKEN"),
        admin_token=_get(env, "ADMIN_TOKEN"),
        admin_readonly_token=_get(env, "ADMIN_READONLY_TOKEN"),
        stripe_webhook_secrets=webhook_secrets,
        stripe_webhook_tolerance_seconds=_positive(
            env, "STRIPE_WEBHOOK_TOLERANCE_SECONDS", int, 300
        ),
        stripe_api_key=_get(env, "STRIPE_API_KEY"),
        stripe_api_base=(_get(env, "STRIPE_API_BASE") or "https://api.stripe.com").rstrip("/"),
        email_backend=backend,
        smtp_url=_get(env, "SMTP_URL"),
        sendgrid_api_key=_get(env, "SENDGRID_API_KEY"),
        sendgrid_api_base=(_get(env, "SENDGRID_API_BASE") or "https://api.sendgrid.com").rstrip(
            "/"
        ),
        email_from=_get(env, "EMAIL_FROM") or "billing@example.com",
        email_max_attempts=_positive(env, "EMAIL_MAX_ATTEMPTS", int, 8),
        email_claim_seconds=_positive(env, "EMAIL_CLAIM_SECONDS", float, 40.0),
        job_heartbeat_ttl_seconds=ttl,
        job_heartbeat_interval_seconds=_positive(
            env, "JOB_HEARTBEAT_INTERVAL_SECONDS", float, ttl / 4
        ),
        email_dispatch_interval_seconds=_positive(
            env, "EMAIL_DISPATCH_INTERVAL_SECONDS", float, 5.0
        ),
        email_dlq_interval_seconds=_positive(env, "EMAIL_DLQ_INTERVAL_SECONDS", float, 30.0),
        email_retry_base_seconds=_positive(env, "EMAIL_RETRY_BASE_SECONDS", float, 30.0),
        email_retry_max_seconds=_positive(env, "EMAIL_RETRY_MAX_SECONDS", float, 3600.0),
        circuit_failure_threshold=_positive(env, "CIRCUIT_FAILURE_THRESHOLD", int, 5),
        circuit_reset_seconds=_positive(env, "CIRCUIT_RESET_SECONDS", float, 30.0),
        retention_days=_positive(env, "RETENTION_DAYS", int, 30),
        audit_retention_days=_positive(env, "AUDIT_RETENTION_DAYS", int, 365),
        email_concurrency=_positive(env, "EMAIL_CONCURRENCY", int, 4),
        email_rate_limit_per_second=_optional_positive(env, "EMAIL_RATE_LIMIT_PER_SECOND"),
        sendgrid_webhook_public_key=_public_key(env),
        email_receipt_valid_days=_positive(env, "EMAIL_RECEIPT_VALID_DAYS", float, 7.0),
        web_threads=_positive(env, "WEB_THREADS", int, 4),
        probe_cache_seconds=_non_negative(env, "PROBE_CACHE_SECONDS", 1.0),
        log_level=_choice(env, "LOG_LEVEL", LOG_LEVELS, "INFO"),
        log_format=_choice(
            env, "LOG_FORMAT", ("text", "json"), "json" if app_env == "production" else "text"
        ),
        build_version=_get(env, "BUILD_VERSION") or "0.1.0",
        build_commit=_get(env, "BUILD_COMMIT") or _get(env, "SOURCE_VERSION") or "unknown",
        dyno=_dyno(env),
    )
    if settings.job_heartbeat_interval_seconds >= ttl:
        raise ConfigError(
            "JOB_HEARTBEAT_INTERVAL_SECONDS", f"must be shorter than the TTL ({ttl}s)"
        )
    secret_values = (
        settings.metrics_token,
        settings.admin_token,
        settings.admin_readonly_token,
        settings.stripe_api_key,
        settings.sendgrid_api_key,
        _url_password(settings.smtp_url),
        _url_password(settings.database_url),
        *webhook_secrets,
    )
    # Every configured secret, whatever its length: the redactor decides how
    # to match short ones (service/observability/logging.py).
    return replace(settings, secrets=tuple(s for s in secret_values if s))


# --- SMTP_URL: the one parser (validation at start-up, and the smtp backend) ---

SMTP_DEFAULT_TIMEOUT_SECONDS = 10.0
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how the smtp backend connects, from SMTP_URL.

    `smtp://user:pass@host:port` (plain, `?starttls=true` to upgrade),
    `smtps://...` for implicit TLS; `?timeout=SECONDS` per socket operation
    (default 10). User and password are percent-decoded.
    """

    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = SMTP_DEFAULT_TIMEOUT_SECONDS

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        """Raise ConfigError("SMTP_URL", ...) on a URL the backend could not use."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigError(
                "SMTP_URL", "must look like smtp://user:pass@host:port or smtps://..."
            )
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            port = parts.port
            timeout = float(query.get("timeout", SMTP_DEFAULT_TIMEOUT_SECONDS))
        except ValueError:
            raise ConfigError("SMTP_URL", "has a bad port or ?timeout= value") from None
        if not timeout > 0:
            raise ConfigError("SMTP_URL", "?timeout= must be greater than 0")
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=port or (465 if implicit else 25),
            implicit_tls=implicit,
            starttls=query.get("starttls", "").lower() in _TRUE,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=timeout,
        )
