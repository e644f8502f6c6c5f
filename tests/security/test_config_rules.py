"""Start-up refuses weak or shared tokens and cleartext SMTP logins in production."""

from __future__ import annotations

import pytest

from service.config import ConfigError, load_settings

from .tokens import ADMIN, METRICS, READONLY

PRODUCTION = {
    "APP_ENV": "production",
    "DATABASE_URL": "postgres://u:p@db/app",
    "EMAIL_BACKEND": "smtp",
    "SMTP_URL": "smtps://u:p@mail:465",
}


@pytest.mark.parametrize("variable", ["ADMIN_TOKEN", "METRICS_TOKEN", "ADMIN_READONLY_TOKEN"])
@pytest.mark.parametrize("env", [{}, PRODUCTION], ids=["development", "production"])
def test_a_short_token_stops_start_up_naming_the_variable(variable, env):
    with pytest.raises(ConfigError) as info:
        load_settings({**env, variable: "x" * 31})
    assert info.value.variable == variable
    assert str(info.value).startswith(f"{variable}:") and "32" in str(info.value)
    assert load_settings({**env, variable: "x" * 32}).secrets  # 32 is enough


@pytest.mark.parametrize(
    ("tokens", "variable"),
    [
        ({"ADMIN_TOKEN": ADMIN, "METRICS_TOKEN": ADMIN}, "METRICS_TOKEN"),
        ({"ADMIN_TOKEN": ADMIN, "ADMIN_READONLY_TOKEN": ADMIN}, "ADMIN_READONLY_TOKEN"),
        ({"METRICS_TOKEN": METRICS, "ADMIN_READONLY_TOKEN": METRICS}, "ADMIN_READONLY_TOKEN"),
    ],
)
def test_equal_tokens_stop_start_up(tokens, variable):
    with pytest.raises(ConfigError) as info:
        load_settings({**PRODUCTION, **tokens})
    assert info.value.variable == variable
    assert "differ" in str(info.value)


def test_distinct_long_tokens_are_accepted():
    s = load_settings(
        {
            **PRODUCTION,
            "ADMIN_TOKEN": ADMIN,
            "METRICS_TOKEN": METRICS,
            "ADMIN_READONLY_TOKEN": READONLY,
        }
    )
    assert (s.admin_token, s.metrics_token, s.admin_readonly_token) == (ADMIN, METRICS, READONLY)
    assert {ADMIN, METRICS, READONLY} <= set(s.secrets)


@pytest.mark.parametrize(
    "url",
    [
        "smtp://user:pass@mail.example.com:587",
        "smtp://user@mail.example.com:25",
        "smtp://user:pass@mail.example.com:587?starttls=false",
        "smtp://user:pass@10.0.0.8:587",
    ],
)
def test_production_refuses_a_cleartext_smtp_login(url):
    with pytest.raises(ConfigError) as info:
        load_settings({**PRODUCTION, "SMTP_URL": url})
    assert info.value.variable == "SMTP_URL"
    assert "cleartext" in str(info.value)
    assert "pass" not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "smtps://user:pass@mail.example.com:465",
        "smtp://user:pass@mail.example.com:587?starttls=true",
        "smtp://user:pass@127.0.0.1:25",  # a relay on the same machine
        "smtp://user:pass@localhost:25",
        "smtp://user:pass@[::1]:25",
        "smtp://mail.example.com:25",  # no credentials to leak
    ],
)
def test_production_accepts_encrypted_loopback_or_anonymous_smtp(url):
    assert load_settings({**PRODUCTION, "SMTP_URL": url}).smtp_url == url


def test_development_may_log_in_in_cleartext():
    env = {"EMAIL_BACKEND": "smtp", "SMTP_URL": "smtp://user:pass@mail.example.com:587"}
    assert load_settings(env).smtp_url


def test_web_threads_is_validated():
    assert load_settings({}).web_threads == 4
    assert load_settings({"WEB_THREADS": "8"}).web_threads == 8
    with pytest.raises(ConfigError) as info:
        load_settings({"WEB_THREADS": "0"})
    assert info.value.variable == "WEB_THREADS"
