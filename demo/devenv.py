"""`make run` in development: a webhook secret without a trap, and a banner.

Stripe signs every delivery with the endpoint's secret (`whsec_…`); with no
secret configured the service refuses every delivery (500
`server_misconfigured`), so a first `make run` could not receive a single
event. In development (APP_ENV unset or `development`) and with
STRIPE_WEBHOOK_SECRET unset, this creates a random secret once in
`var/dev-webhook-secret` (git-ignored, mode 0600, kept across runs) and hands
it to the processes as STRIPE_WEBHOOK_SECRET; `make demo` signs with the same
file. The service never reads the file: the secret reaches it as the
environment variable, like any other setting. With APP_ENV=production (or
`test`) nothing is created, read or printed, so production still requires
STRIPE_WEBHOOK_SECRET.

The Makefile runs `eval "$(python -m demo.devenv)"`: shell assignments on
stdout, the banner (never the secret itself) on stderr.
"""

from __future__ import annotations

import os
import secrets
import shlex
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET_FILE = ROOT / "var" / "dev-webhook-secret"
SECRET_VARIABLE = "STRIPE_WEBHOOK_SECRET"  # noqa: S105 (a variable's name, not a secret)


def is_development(env: Mapping[str, str]) -> bool:
    return (env.get("APP_ENV") or "").strip().lower() in ("", "development")


def read_secret(path: Path = SECRET_FILE) -> str | None:
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        return None
    if not value.startswith("whsec_"):
        raise SystemExit(f"{path} does not hold a whsec_… secret: delete it and run again.")
    return value


def ensure_secret(path: Path = SECRET_FILE) -> tuple[str, bool]:
    """(the secret, whether it was created now). Created whole or not at all:
    written to a temporary file, then linked into place, which fails when a
    concurrent `make run` got there first (its secret is kept)."""
    existing = read_secret(path)
    if existing:
        return existing, False
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = f"whsec_{secrets.token_hex(16)}"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".dev-webhook-secret.")
    try:
        with os.fdopen(fd, "w") as handle:  # mkstemp makes it 0600
            handle.write(secret + "\n")
        os.link(tmp, path)
    except FileExistsError:
        return _written_by_another(path), False
    finally:
        os.unlink(tmp)
    return secret, True


def _written_by_another(path: Path) -> str:
    secret = read_secret(path)
    if secret is None:
        raise SystemExit(f"{path} appeared and vanished while being created: run again.")
    return secret


def webhook_secret(env: Mapping[str, str], path: Path = SECRET_FILE) -> str | None:
    """The secret `make demo` signs with: the configured one, else (development
    only) the one `make run` created; None when neither exists."""
    configured = [s.strip() for s in (env.get(SECRET_VARIABLE) or "").split(",") if s.strip()]
    if configured:
        return configured[0]
    return read_secret(path) if is_development(env) else None


def console_path() -> str | None:
    """Where the operator console is mounted in this build, if it has one."""
    try:
        from service import create_app

        # Quiet: the web process logs its own start-up warnings a moment later.
        app = create_app({"LOG_LEVEL": "ERROR"})
        rules = [rule.rule for rule in app.url_map.iter_rules()]
    except Exception:  # a broken setting: the processes themselves will say which
        return None
    return "/console/" if any(rule.startswith("/console") for rule in rules) else None


def _emails(env: Mapping[str, str]) -> list[str]:
    backend = (env.get("EMAIL_BACKEND") or "console").strip().lower()
    if backend != "console":
        return [f"  emails     EMAIL_BACKEND={backend}: the worker sends them"]
    return [
        "  emails     EMAIL_BACKEND=console: sends nothing; the worker logs each email below,",
        "             one line each (service.email.console), and `make demo` prints them",
    ]


def banner(env: Mapping[str, str], path: Path, created: bool | None) -> str:
    port = (env.get("PORT") or "8000").strip()
    web = f"http://localhost:{port}"
    relative = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    if created is None:
        secret = f"{SECRET_VARIABLE} from your environment ({relative} is not used)"
    else:
        state = "created now" if created else "kept from an earlier run"
        secret = f"{relative} ({state}), passed on as {SECRET_VARIABLE}"
    lines = ["", "billing-notifier, development", f"  web        {web}   (curl {web}/readyz)"]
    console = console_path()
    if console:
        lines.append(f"  console    {web}{console}")
    lines += [
        f"  webhooks   POST {web}/v1/webhooks/stripe",
        f"             signing secret: {secret}",
        *_emails(env),
        "  try it     make demo, in a second terminal (README, 'Try it')",
        "",
    ]
    return "\n".join(lines)


def main(env: Mapping[str, str] | None = None, path: Path = SECRET_FILE) -> int:
    env = os.environ if env is None else env
    if not is_development(env):
        return 0  # production and test: nothing created, read or exported
    created: bool | None = None
    if not (env.get(SECRET_VARIABLE) or "").strip():
        secret, created = ensure_secret(path)
        print(f"export {SECRET_VARIABLE}={shlex.quote(secret)}")
    print(banner(env, path, created), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
