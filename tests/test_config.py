import pytest

from service.config import ConfigError, load_settings


def test_defaults_in_development():
    s = load_settings({})
    assert s.app_env == "development"
    assert s.database_url.startswith("sqlite:///") and s.database_url.endswith(
        "var/development.sqlite3"
    )
    assert s.port == 8000
    assert s.email_backend == "console"
    assert s.email_max_attempts == 8
    assert s.job_heartbeat_ttl_seconds == 60
    assert s.job_heartbeat_interval_seconds == 15  # TTL / 4
    assert (s.email_dispatch_interval_seconds, s.email_dlq_interval_seconds) == (5, 30)
    assert (s.email_retry_base_seconds, s.email_retry_max_seconds) == (30, 3600)
    assert (s.circuit_failure_threshold, s.circuit_reset_seconds) == (5, 30)
    assert s.stripe_webhook_tolerance_seconds == 300
    assert s.email_from == "billing@example.com"
    assert (s.log_level, s.log_format) == ("INFO", "text")
    assert s.metrics_token is None and s.admin_token is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/app", "postgresql+psycopg://u:p@db:5432/app"),
        ("postgresql://u@db/app", "postgresql+psycopg://u@db/app"),
        ("postgresql+psycopg://u@db/app", "postgresql+psycopg://u@db/app"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url_schemes(given, expected):
    assert load_settings({"DATABASE_URL": given}).database_url == expected


PRODUCTION = {
    "APP_ENV": "production",
    "DATABASE_URL": "postgres://u:p@db/app",
    "EMAIL_BACKEND": "smtp",
    "SMTP_URL": "smtp://u:p@mail:587?starttls=true",
}


def test_production_defaults_to_json_logs():
    assert load_settings(PRODUCTION).log_format == "json"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({**PRODUCTION, "DATABASE_URL": ""}, "DATABASE_URL"),
        ({**PRODUCTION, "EMAIL_BACKEND": "console"}, "EMAIL_BACKEND"),
        ({"APP_ENV": "staging"}, "APP_ENV"),
        ({"PORT": "eighty"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"EMAIL_MAX_ATTEMPTS": "0"}, "EMAIL_MAX_ATTEMPTS"),
        ({"JOB_HEARTBEAT_TTL_SECONDS": "-5"}, "JOB_HEARTBEAT_TTL_SECONDS"),
        ({"JOB_HEARTBEAT_INTERVAL_SECONDS": "90"}, "JOB_HEARTBEAT_INTERVAL_SECONDS"),
        ({"EMAIL_BACKEND": "pigeon"}, "EMAIL_BACKEND"),
        ({"EMAIL_BACKEND": "smtp"}, "SMTP_URL"),
        ({"EMAIL_BACKEND": "smtp", "SMTP_URL": "http://mail"}, "SMTP_URL"),
        ({"EMAIL_BACKEND": "sendgrid"}, "SENDGRID_API_KEY"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({"CIRCUIT_RESET_SECONDS": "soon"}, "CIRCUIT_RESET_SECONDS"),
    ],
)
def test_bad_settings_name_the_variable(env, variable):
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    assert info.value.variable == variable
    assert str(info.value).startswith(f"{variable}:")


def test_webhook_secrets_are_comma_separated():
    s = load_settings({"STRIPE_WEBHOOK_SECRET": "whsec_a, whsec_b,,"})
    assert s.stripe_webhook_secrets == ("whsec_a", "whsec_b")


def test_token_rules():
    dev = load_settings({})
    assert not dev.token_required(dev.metrics_token)
    dev_set = load_settings({"METRICS_TOKEN": "m-token-0123456789abcdef0123456789"})
    assert dev_set.token_required(dev_set.metrics_token)
    prod = load_settings(PRODUCTION)
    assert prod.token_required(prod.metrics_token)  # required even though unset


def test_secrets_are_collected_but_never_printed():
    s = load_settings(
        {
            **PRODUCTION,
            "METRICS_TOKEN": "metrics-secret-0123456789abcdef01234",
            "ADMIN_TOKEN": "admin-secret-0123456789abcdef0123456",
            "STRIPE_WEBHOOK_SECRET": "whsec_one,whsec_two",
        }
    )
    assert {"whsec_one", "whsec_two", "p"} <= set(s.secrets)  # "p": DATABASE_URL's password
    assert s.metrics_token in s.secrets and s.admin_token in s.secrets
    assert "secret" not in repr(s)
