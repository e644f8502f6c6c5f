"""Fixtures for the email tests: loopback servers and a trusted test CA."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme

from service.email import dispatch
from tests.email.servers import sendgrid_server, silent_server, smtp_server


@pytest.fixture
def smtp():
    with smtp_server() as (controller, port):
        yield controller.handler, port


@pytest.fixture
def silent_port():
    with silent_server() as port:
        yield port


@pytest.fixture
def sendgrid():
    with sendgrid_server() as (fake, base):
        yield fake, base


@pytest.fixture
def tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A server TLS context whose CA the client trusts (SSL_CERT_FILE)."""
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture(autouse=True)
def no_suspicion_from_earlier_tests():
    """A provider failure makes every send of the process ask the breaker for
    a while (dispatch.SUSPECT); one test's failures must not reach the next."""
    dispatch.SUSPECT.clear()
    yield
    dispatch.SUSPECT.clear()
