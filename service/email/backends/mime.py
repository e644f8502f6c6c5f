"""The message on the wire: multipart/alternative, a text part then an HTML part.

`message_bytes` writes the bytes directly; `build_message` builds the same
message with the standard library's email.mime classes. They are the same
message (tests/email/test_mime.py parses both and compares): the standard
library's version is the reference, and what `make bench` gives plain
smtplib to send. Dispatch sends the bytes: serialising a Message through
email.generator (header folding, a regex compiled per message to check the
boundary, address parsing in send_message) cost more per message than the
database work, and this message has one fixed shape.

Both parts are UTF-8 quoted-printable (readable in transit, 7-bit, safe for
any text). Headers are plain when ASCII and short, RFC 2047 encoded-words
when not ASCII, folded when long; a line break in a value is refused (it
would let data inject headers).
"""

from __future__ import annotations

import binascii
import secrets
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import OutgoingEmail

__all__ = ["build_message", "message_bytes"]

_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP
# RFC 5322's recommended line length; longer header lines are folded.
_LINE = 78
_PART_HEADERS = (
    b'Content-Type: text/%s; charset="utf-8"\r\n'
    b"MIME-Version: 1.0\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
)


def _checked(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("header value contains a line break")
    return value


def _header(value: str) -> str:
    """A header value for email.mime (the reference builder)."""
    value = _checked(value)
    return value if value.isascii() else Header(value, "utf-8").encode()


def _header_line(name: str, value: str) -> str:
    value = _checked(value)
    if value.isascii() and len(name) + 2 + len(value) <= _LINE:
        return f"{name}: {value}\r\n"
    charset = "us-ascii" if value.isascii() else "utf-8"
    folded = Header(value, charset, header_name=name).encode(linesep="\r\n")
    return f"{name}: {folded}\r\n"


def _quoted_printable(text: str) -> bytes:
    """UTF-8 quoted-printable with CRLF line ends (lines of at most 76)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n")
    return binascii.b2a_qp(lines.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


def message_bytes(email: OutgoingEmail) -> bytes:
    """The whole message as sent (CRLF line ends, 7-bit)."""
    # "=_" never occurs in quoted-printable ("=" is followed by two hex
    # digits or a line end), so no body line can be mistaken for the
    # boundary: no scan of the parts is needed, unlike email.generator.
    boundary = f"=_{secrets.token_hex(12)}"
    head = (
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'
        "MIME-Version: 1.0\r\n"
        + _header_line("From", email.sender)
        + _header_line("To", email.recipient)
        + _header_line("Subject", email.content.subject)
        + f"Date: {formatdate(usegmt=True)}\r\n"
        f"Message-ID: {email.message_id}\r\n"
        "Auto-Submitted: auto-generated\r\n"  # RFC 3834: no vacation replies
        "\r\n"
    )
    separator = f"--{boundary}\r\n".encode("ascii")
    return b"".join(
        (
            head.encode("ascii"),
            separator,
            _PART_HEADERS % b"plain",
            _quoted_printable(email.content.text),
            b"\r\n",
            separator,
            _PART_HEADERS % b"html",
            _quoted_printable(email.content.html),
            f"\r\n--{boundary}--\r\n".encode("ascii"),
        )
    )


def build_message(email: OutgoingEmail) -> Message:
    """The same message with the email.mime classes (the reference)."""
    message = MIMEMultipart("alternative")
    message["From"] = _header(email.sender)
    message["To"] = _header(email.recipient)
    message["Subject"] = _header(email.content.subject)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = email.message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    message.attach(MIMEText(email.content.text, "plain", _UTF8_QP))  # type: ignore[arg-type]  # a Charset is accepted at runtime
    message.attach(MIMEText(email.content.html, "html", _UTF8_QP))  # type: ignore[arg-type]  # a Charset is accepted at runtime
    return message
