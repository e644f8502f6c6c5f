import json
import logging

from service.config import load_settings
from service.observability.logging import JsonLogFormatter, configure_logging
from service.redaction import mask_addresses, redact, redact_query


def _record(msg, *args, exc_info=None):
    return logging.LogRecord("svc", logging.ERROR, __file__, 1, msg, args, exc_info)


def test_json_lines_carry_tracebacks_in_one_object():
    try:
        raise ValueError("bad thing")
    except ValueError:
        import sys

        line = JsonLogFormatter().format(_record("failed %s", "here", exc_info=sys.exc_info()))
    assert "\n" not in line
    record = json.loads(line)
    assert record["message"] == "failed here"
    assert record["level"] == "ERROR"
    assert "ValueError: bad thing" in record["exc_info"]


def test_configured_secrets_and_token_shapes_are_redacted():
    configure_logging(
        load_settings(
            {
                "METRICS_TOKEN": "tok-aaaa-bbbb-0123456789abcdef0123456",
                "STRIPE_WEBHOOK_SECRET": "whsec_zz99",
            }
        )
    )
    text = redact(
        "GET /metrics?token=tok-aaaa-bbbb-0123456789abcdef0123456&a=1 "
        "Authorization: Bearer abc.def "
        "postgresql://user:pw12345@db/app whsec_zz99"
    )
    for secret in ("tok-aaaa-bbbb-0123456789abcdef0123456", "abc.def", "pw12345", "whsec_zz99"):
        assert secret not in text
    assert redact_query("a=1&token=other-value") == "a=1&token=[REDACTED]"
    assert redact_query("") == ""


def test_email_addresses_in_urls_are_masked():
    assert mask_addresses("/v1/admin/suppressions/Ada.Lovelace+bills@example.co.uk") == (
        "/v1/admin/suppressions/[address]"
    )
    assert mask_addresses("recipient=grace%40example.com&limit=50") == (
        "recipient=[address]&limit=50"
    )
    assert mask_addresses("next=/console/dead-letters?recipient%3Dg%2540example.com") == (
        "next=/console/dead-letters?recipient%3D[address]"
    )
    assert mask_addresses("/healthz") == "/healthz"
    assert mask_addresses("user@localhost") == "user@localhost"  # not an address on the internet
