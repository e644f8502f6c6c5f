"""Secrets out of text: every log line, stored error and API answer passes here.

Plumbing: imported by any layer, imports nothing of ours. The logging set-up
registers the configured secrets (`set_secrets`); the patterns catch token
shapes whatever their value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[REDACTED]"
# Stored and logged error text is cut to this many characters everywhere
# (the narrowest column that holds one, circuit.last_error, is 300).
MAX_ERROR_LENGTH = 300
_secrets: tuple[str, ...] = ()
# (marker, pattern, replacement): a pattern runs only when its marker (lower
# case) is in the line. Every log line passes through here, and the URL
# pattern backtracks over each run of word characters; the cheap substring
# test skips it on the vast majority of lines.
_PATTERNS = (
    # token=... in query strings, Authorization headers, URL passwords
    ("token=", re.compile(r"(?i)([?&;\s\"']token=)[^&\s\"';]+"), r"\1" + REDACTED),
    ("bearer", re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1" + REDACTED),
    ("://", re.compile(r"([A-Za-z][\w+.-]*://[^:/?#\s@]+:)[^@/\s]+(@)"), r"\1" + REDACTED + r"\2"),
)


def set_secrets(secrets: Iterable[str]) -> None:
    """The configured secret values to replace wherever they appear."""
    global _secrets
    # Longest first, so a secret containing another is replaced whole.
    _secrets = tuple(sorted(set(secrets), key=len, reverse=True))


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    lowered = text.lower()
    for marker, pattern, replacement in _PATTERNS:
        if marker in lowered:
            text = pattern.sub(replacement, text)
    return text


def redact_query(query: str) -> str:
    """`a=1&token=abc` -> `a=1&token=[REDACTED]` (the access log's query part)."""
    return redact("?" + query)[1:] if query else query


def error_text(error: BaseException | str) -> str:
    """An error as stored or logged: `Type: message` for an exception, on one
    line, secrets redacted, at most MAX_ERROR_LENGTH characters."""
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return redact(" ".join(text.split()))[:MAX_ERROR_LENGTH]
