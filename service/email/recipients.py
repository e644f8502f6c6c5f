"""A recipient is exactly one plain address (README "Recipients").

Parsed with `email.utils.getaddresses`: "a@x.com, b@y.org" is two addresses
and would mail both while the suppression list checked neither; a display
name, a header break or an address over 320 characters (RFC 5321's limit,
and the outbox column's size) is refused as well.
"""

from __future__ import annotations

import re
from email.utils import getaddresses

MAX_ADDRESS_LENGTH = 320
INVALID_RECIPIENT = "invalid_recipient"
# The common shape, accepted without the full parser (which costs ~14 us a
# call): a dot-atom local part and a domain of letter/digit/hyphen labels.
# getaddresses returns exactly such an address unchanged, with no name.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


def parse_recipient(raw: object) -> str | None:
    """The address if `raw` is exactly one plain address, else None."""
    if not isinstance(raw, str) or len(raw) > MAX_ADDRESS_LENGTH:
        return None
    text = raw.strip()
    if _PLAIN.fullmatch(text):
        return text
    if not text or any(ord(c) < 32 or ord(c) == 127 for c in text):
        return None
    pairs = getaddresses([text])
    if len(pairs) != 1:
        return None
    name, address = pairs[0]
    if name or address != text:
        return None
    local, at, domain = address.rpartition("@")
    if not (local and at and domain) or "@" in domain or " " in domain or '"' in domain:
        return None
    return address
