"""The bytes dispatch sends are the message the standard library builds.

`message_bytes` writes the wire format by hand for speed; `build_message`
(email.mime) is the reference. Parsed back, both must carry the same
headers and the same decoded parts, and the bytes must be plain 7-bit
lines with CRLF ends that a relay accepts.
"""

from __future__ import annotations

import io
from email import message_from_bytes, policy
from email.generator import BytesGenerator

import pytest

from service.email.backends import OutgoingEmail
from service.email.backends.mime import build_message, message_bytes
from service.email.templates import TEMPLATES, RenderedEmail, render
from tests.email.test_templates import CONTEXTS

HEADERS = ("From", "To", "Subject", "Message-ID", "Auto-Submitted", "MIME-Version")
CASES = {
    "ascii": RenderedEmail("Your receipt", "Thanks.\n", "<p>Thanks.</p>\n"),
    "non-ascii": RenderedEmail(
        "Reçu pour Zoë Ñúñez 🎉", "Merci Zoë,\n€12.34\n", "<p>Zoë &amp; Co — €12.34</p>\n"
    ),
    "long subject": RenderedEmail("Receipt " + "word " * 40, "t\n", "h\n"),
    "long non-ascii subject": RenderedEmail("Reçu " + "é" * 90, "t\n", "h\n"),
    "long lines": RenderedEmail("s", "long " * 60 + "\n", "<p>" + "é" * 200 + "</p>\n"),
    "trailing space, dots, tabs": RenderedEmail(
        "s", "trailing space \n.\n..dots\n\ttab\t\nFrom here\n", "<p>a</p>  \n"
    ),
    "crlf and bare cr in text": RenderedEmail("s", "one\r\ntwo\rthree\n", "<p>x</p>"),
    "no final newline": RenderedEmail("s", "text", "<p>html</p>"),
    "equals and boundary-like text": RenderedEmail(
        "s", "a=b\n--=_abc\n=_\n", "<a href='x?a=1&b=2'>=_</a>\n"
    ),
}


def outgoing(content: RenderedEmail, to: str = "ann@example.com") -> OutgoingEmail:
    return OutgoingEmail("evt_1:receipt", to, "billing@example.com", content)


def reference_bytes(email: OutgoingEmail) -> bytes:
    buffer = io.BytesIO()
    BytesGenerator(buffer, policy=policy.SMTP).flatten(build_message(email))
    return buffer.getvalue()


def assert_same_message(sent: bytes, reference: bytes) -> None:
    ours = message_from_bytes(sent, policy=policy.default)
    theirs = message_from_bytes(reference, policy=policy.default)
    for name in HEADERS:
        assert ours[name] == theirs[name], name
    assert ours["Date"] and ours.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in ours.iter_parts()] == ["text/plain", "text/html"]
    for part, ref in zip(ours.iter_parts(), theirs.iter_parts(), strict=True):
        assert part.get_content_charset() == ref.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
        assert part.get_content() == ref.get_content()
    assert not ours.defects and all(not p.defects for p in ours.iter_parts())


def assert_wire_format(sent: bytes) -> None:
    assert sent.isascii(), "not 7-bit"
    assert b"\n" not in sent.replace(b"\r\n", b""), "a bare LF"
    assert b"\r" not in sent.replace(b"\r\n", b""), "a bare CR"
    assert max(len(line) for line in sent.split(b"\r\n")) <= 78


@pytest.mark.parametrize("case", CASES)
def test_same_message_as_email_mime(case):
    email = outgoing(CASES[case])
    sent = message_bytes(email)
    assert_same_message(sent, reference_bytes(email))
    assert_wire_format(sent)


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_rendered_is_the_same_message(template):
    email = outgoing(render(template, CONTEXTS[template]))
    sent = message_bytes(email)
    assert_same_message(sent, reference_bytes(email))
    assert_wire_format(sent)


def test_decoded_text_is_what_was_rendered():
    content = CASES["non-ascii"]
    parsed = message_from_bytes(message_bytes(outgoing(content)), policy=policy.default)
    assert parsed["Subject"] == content.subject
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == content.text
    assert parsed.get_body(("html",)).get_content().replace("\r\n", "\n") == content.html


def test_each_message_has_its_own_boundary():
    first, second = (message_bytes(outgoing(CASES["ascii"])) for _ in range(2))
    assert first.split(b"\r\n", 1)[0] != second.split(b"\r\n", 1)[0]


@pytest.mark.parametrize("field", ["subject", "recipient", "sender"])
def test_a_line_break_in_a_header_value_is_refused(field):
    content = CASES["ascii"]
    email = {
        "subject": outgoing(RenderedEmail("Hi\r\nBcc: x@evil.test", "t", "h")),
        "recipient": outgoing(content, to="ann@example.com\nBcc: x@evil.test"),
        "sender": OutgoingEmail("k", "ann@example.com", "a@example.com\r\nBcc: x@e.test", content),
    }[field]
    with pytest.raises(ValueError, match="line break"):
        message_bytes(email)
