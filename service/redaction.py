"""Secrets out of text: every log line, stored error and API answer passes here.

Plumbing: imported by any layer, imports nothing of ours. The logging set-up
registers the configured secrets (`set_secrets`); the patterns catch token
shapes whatever their value.

Linear time on any input (docs/SECURITY.md, "Logs"): anything an attacker
sends (a User-Agent, a path) reaches this code on every request, so

- text longer than MAX_FIELD_CHARS is cut before any matching;
- every regular expression is bounded (no unbounded run followed by
  something that can fail and make the engine retry from every position);
- URL passwords are found with str.find/rfind around each "://", not with a
  backtracking pattern (the old one took 0.4 s on "a" * 8000 + "://").

What is redacted:
- each configured secret by value, whatever its length (shorter than 8
  characters only where it stands alone, so a 3-letter password does not
  blank every word that contains it);
- `token=`, `password=`, `secret=`, `api_key=` values (also with a prefix,
  `access_token=`, and as `"token": "..."`), Bearer and Basic credentials,
  the password of any `scheme://user:password@host` (the password may hold
  `/` or `@`);
- the same in percent-encoded text (`tok%65n=`, a token in a query string):
  when a percent-decoded copy of the text holds a secret, the decoded copy is
  what gets logged, redacted.

`mask_addresses` replaces email addresses (plain or percent-encoded) with
ADDRESS: customer data that reaches a log through a URL (the access log's
path and query: `/v1/admin/suppressions/<address>`, `?recipient=`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote

REDACTED = "[REDACTED]"
# Stored and logged error text is cut to this many characters everywhere
# (the narrowest column that holds one, circuit.last_error, is 300).
MAX_ERROR_LENGTH = 300
# Longest text matched; anything longer is cut first (a log line is never
# legitimately this long; tracebacks get their own, larger bound).
MAX_FIELD_CHARS = 16 * 1024
TRUNCATED = "...[truncated]"
SHORT_SECRET = 8
_MAX_DECODE_ROUNDS = 2
_MAX_AUTHORITY = 512

_secrets: tuple[str, ...] = ()
_short_secrets: re.Pattern[str] | None = None

_KEY_VALUE = re.compile(
    r"(?i)(?<![a-z0-9])([\w.-]{0,32}?(?:token|password|passwd|secret|api_?key)"
    r"(?:=|[\"']\s{0,3}:\s{0,3}[\"']))[^\s&\"';,]{1,4096}"
)
_KEY_MARKERS = ("token", "passw", "secret", "key")
_BEARER = re.compile(r"(?i)(\bbearer\s{1,16})[A-Za-z0-9._~+/=-]{1,4096}")
_BASIC = re.compile(r"(\bBasic\s{1,16})[A-Za-z0-9+/=]{4,4096}")
_SCHEME = re.compile(r"(?<![\w+.-])[A-Za-z][\w+.-]{0,30}://")
_AUTHORITY_END = re.compile(r"[\s\"'<>]")
ADDRESS = "[address]"
# local@domain.tld, the `@` maybe percent-encoded once or twice. A local part
# starts only after a character that cannot be in one (or an encoded URL
# separator) and stops at URL separators (`=`, `&`, `?`, `/`, plain or
# encoded): each position is tried in constant time, each match is bounded.
_LOCAL_CHAR = r"A-Za-z0-9.!#$'*+^_`{|}~\-"
_ADDRESS = re.compile(
    rf"(?:(?<![{_LOCAL_CHAR}%])|(?<=%3[Dd])|(?<=%26)|(?<=%3[Ff])|(?<=%2[Ff]))"
    rf"(?:[{_LOCAL_CHAR}]|%(?!3[Dd]|26|3[Ff]|2[Ff])[0-9A-Fa-f]{{2}}){{1,64}}"
    r"(?:@|%40|%2540)[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}"
)


def set_secrets(secrets: Iterable[str]) -> None:
    """The configured secret values to replace wherever they appear."""
    global _secrets, _short_secrets
    values = {s for s in secrets if s}
    # Longest first, so a secret containing another is replaced whole.
    _secrets = tuple(sorted((s for s in values if len(s) >= SHORT_SECRET), key=len, reverse=True))
    short = sorted((s for s in values if len(s) < SHORT_SECRET), key=len, reverse=True)
    _short_secrets = (
        re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(map(re.escape, short)) + r")(?![A-Za-z0-9])")
        if short
        else None
    )


def truncate(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + TRUNCATED


def _url_passwords(text: str) -> str:
    """`scheme://user:pa/ss@word@host` -> `scheme://user:[REDACTED]@host`.

    The password runs to the last `@` before the end of the URL (whitespace,
    a quote or 512 characters): over-redacting a path is the safe mistake.
    """
    out: list[str] = []
    pos = 0
    for match in _SCHEME.finditer(text):
        start = match.end()
        if start < pos:
            continue
        end_match = _AUTHORITY_END.search(text, start, start + _MAX_AUTHORITY)
        end = end_match.start() if end_match else min(len(text), start + _MAX_AUTHORITY)
        at = text.rfind("@", start, end)
        colon = text.find(":", start, at) if at > start else -1
        if colon < 0 or any(c in text[start:colon] for c in "/?#@"):
            continue
        out.append(text[pos : colon + 1])
        out.append(REDACTED)
        pos = at
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def _redact_plain(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if _short_secrets is not None:
        text = _short_secrets.sub(REDACTED, text)
    lowered = text.lower()
    if any(marker in lowered for marker in _KEY_MARKERS):
        text = _KEY_VALUE.sub(r"\1" + REDACTED, text)
    if "bearer" in lowered:
        text = _BEARER.sub(r"\1" + REDACTED, text)
    if "Basic" in text:
        text = _BASIC.sub(r"\1" + REDACTED, text)
    if "://" in text:
        text = _url_passwords(text)
    return text


def redact(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    text = _redact_plain(truncate(text, limit))
    decoded = text
    for _ in range(_MAX_DECODE_ROUNDS):
        if "%" not in decoded:
            break
        decoded = unquote(decoded)
        redacted = _redact_plain(decoded)
        if redacted != decoded:
            return redacted  # a secret hid behind percent-encoding
    return text


def mask_addresses(text: str) -> str:
    """`/v1/admin/suppressions/ada@example.com` -> `/v1/admin/suppressions/[address]`."""
    if "@" not in text and "%40" not in text and "%2540" not in text:
        return text
    return _ADDRESS.sub(ADDRESS, truncate(text))


def redact_query(query: str) -> str:
    """`a=1&token=abc` -> `a=1&token=[REDACTED]` (the access log's query part)."""
    return redact("?" + query)[1:] if query else query


def error_text(error: BaseException | str) -> str:
    """An error as stored or logged: `Type: message` for an exception, on one
    line, secrets redacted, at most MAX_ERROR_LENGTH characters."""
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return redact(" ".join(text.split()))[:MAX_ERROR_LENGTH]
