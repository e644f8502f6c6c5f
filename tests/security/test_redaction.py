"""Log redaction: linear time on hostile input, secrets found before serialisation,
one line per record in text logs."""

from __future__ import annotations

import io
import json
import logging

import pytest

from service.config import load_settings
from service.observability.logging import (
    JsonLogFormatter,
    RedactingFilter,
    TextLogFormatter,
    configure_logging,
)
from service.redaction import REDACTED, mask_addresses, redact, set_secrets

MB = 1024 * 1024
ADVERSARIAL = {
    "word run then scheme": "a" * MB + "://",
    "schemes": "a://" * (MB // 4),
    "userinfo then ats": "x://x:" + "@" * MB,
    "many userinfos": "x://u:p" * (MB // 7),
    "token keys": "token=" * (MB // 6),
    "prefixed keys": "_" * 30 + "access_token=" * (MB // 13),
    "bearers": "bearer " * (MB // 7),
    "blanks then bearer": " " * MB + "bearer",
    "percents": "%" * MB,
    "encoded percents": "%25" * (MB // 3),
    "encoded keys": "tok%65n=" * (MB // 8),
    "quotes": '"token": "' * (MB // 10),
    "mixed": ("a://b:c@d token=e bearer f %41 " * (MB // 32)),
    "local part run then at": "a." * (MB // 2) + "@",
    "ats": "a@" * (MB // 2),
    "encoded ats": "%40" * (MB // 3),
    "addresses": "/a@b.co" * (MB // 7),
}


@pytest.fixture(autouse=True)
def _no_secrets():
    set_secrets(())
    yield
    set_secrets(())


@pytest.mark.timeout(30)
def test_one_megabyte_of_hostile_input_of_every_shape_is_cheap():
    """The old URL pattern backtracked quadratically: "a" * 8000 + "://" took
    0.4 s, so one megabyte would take hours. Every shape here must finish."""
    set_secrets(["a-configured-secret-0123456789", "abc"])
    for name, text in ADVERSARIAL.items():
        out = redact(text)
        assert len(out) <= len(text) + 64, name
        masked = mask_addresses(text)  # the access log's path and query
        assert len(masked) <= len(text) + 64, name


@pytest.mark.timeout(30)
def test_hostile_fields_through_the_logging_pipeline(capsys):
    configure_logging(load_settings({"LOG_FORMAT": "json"}))
    log = logging.getLogger("test.hostile")
    for text in ADVERSARIAL.values():
        log.warning("request %s", text, extra={"user_agent": text, "path": text[:4096]})
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == len(ADVERSARIAL)
    for line in lines:
        record = json.loads(line)
        assert len(record["message"]) < 64 * 1024  # cut before matching


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("GET /x?tok%65n=s3cr3t-value&a=1", "s3cr3t-value"),
        ("GET /x?t%6F%6Ben=s3cr3t-value", "s3cr3t-value"),
        ("GET /x?to%256Ben=s3cr3t-value", "s3cr3t-value"),  # encoded twice
        ("GET /x?TOKEN=s3cr3t-value", "s3cr3t-value"),
        ("GET /x?access_token=s3cr3t-value", "s3cr3t-value"),
        ('{"token": "s3cr3t-value"}', "s3cr3t-value"),
        ("password=s3cr3t-value", "s3cr3t-value"),
        ("Authorization: Bearer s3cr3t.value-1", "s3cr3t.value-1"),
        ("Authorization: Basic dXNlcjpzM2NyM3Q=", "dXNlcjpzM2NyM3Q="),
        ("postgresql://user:pa/ss@db.internal/app", "pa/ss"),
        ("smtp://user:p@ss@mail.example.com:587?starttls=true", "p@ss"),
        ("smtp://user:p@ss/w@rd@mail:25 then more", "p@ss/w@rd"),
        ("redis://:pw-only@cache:6379/0", "pw-only"),
        ("conn=postgresql://u:s3cr3t@h/db, retrying", "s3cr3t"),
    ],
)
def test_token_shapes_are_redacted(text, secret):
    out = redact(text)
    assert secret not in out, out
    assert REDACTED in out


@pytest.mark.parametrize(
    "text",
    [
        "GET /healthz 200 1.2ms",
        "ADMIN_TOKEN: must be at least 32 characters (got 12)",
        "https://example.com/path?x=1&y=a:b@c",
        "stripe webhook rejected: invalid_signature (no secret matched)",
        "a%20b%0a",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert redact(text) == text


def test_configured_secrets_of_any_length():
    set_secrets(["k9", 'quote"back\\slash-ünïcode-secret', "x" * 40])
    assert redact("password was k9.") == f"password was {REDACTED}."
    assert redact("kk9 and k99 stay") == "kk9 and k99 stay"  # only where it stands alone
    assert 'quote"back' not in redact('got quote"back\\slash-ünïcode-secret here')
    assert "x" * 40 not in redact("t=" + "x" * 40)
    assert "x" * 40 not in redact("t=" + "x" * 20 + "%78" * 20)  # percent-encoded


def _json_line(record: logging.LogRecord) -> dict:
    RedactingFilter().filter(record)
    return json.loads(JsonLogFormatter().format(record))


def test_secrets_with_json_escapes_are_redacted_in_json_lines():
    secret = 'se"cr\\et-ünï-0123456789abcdef0123'
    set_secrets([secret])
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "login %s", (secret,), None)
    record.detail = {"nested": [f"x {secret} y"], "password": "short"}
    line = _json_line(record)
    dumped = json.dumps(line, ensure_ascii=False)
    assert secret not in dumped and json.dumps(secret)[1:-1] not in dumped
    assert line["message"] == f"login {REDACTED}"
    assert line["detail"] == {"nested": [f"x {REDACTED} y"], "password": REDACTED}


def test_args_extra_fields_and_tracebacks_are_redacted():
    try:
        raise RuntimeError("connect to postgresql://app:hunter2-pw@db/app failed")
    except RuntimeError:
        import sys

        info = sys.exc_info()
    record = logging.LogRecord(
        "t", logging.ERROR, __file__, 1, "db %s", ("smtp://u:pw-arg@m",), info
    )
    record.url = "https://u:pw-extra@host/"
    record.api_token = "by-its-name"
    line = _json_line(record)
    text = json.dumps(line)
    for secret in ("hunter2-pw", "pw-arg", "pw-extra", "by-its-name"):
        assert secret not in text
    assert "RuntimeError" in line["exc_info"]


def test_text_logs_cannot_forge_a_line():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextLogFormatter())
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("test.forge")
    log.propagate = False
    log.addHandler(handler)
    try:
        log.warning("GET %s", "/a\n2026-01-01 00:00:00,000 INFO [1] forged: admin login\r\nx")
        try:
            raise ValueError("bad\nINFO forged too")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines[0].endswith("GET /a\\n2026-01-01 00:00:00,000 INFO [1] forged: admin login\\r\\nx")
    assert "forged" not in "".join(lines[1:2])
    # Traceback lines are indented under their record: none looks like a record.
    assert all(line.startswith("    ") for line in lines[2:])
    assert any("INFO forged too" in line for line in lines[2:])


def test_a_malformed_log_call_is_logged_not_raised():
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "%d items", ("x",), None)
    line = _json_line(record)
    assert "%d items" in line["message"] and "'x'" in line["message"]
