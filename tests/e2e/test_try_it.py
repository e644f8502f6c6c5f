"""README "Try it", as a new user runs it: `make run`, then `make demo`.

Each test works in a fresh copy of the repository (what `git clone` gives,
uncommitted edits included; no var/, no .venv), with a free PORT, and reuses
this test run's virtualenv instead of installing a new one. `make run` runs
in its own process group; every process it started is stopped when the test
ends, whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from demo.events import CUSTOMER_EMAIL, signed, story
from service.email.templates import TEMPLATES
from service.webhooks.handlers import HANDLERS
from tests.helpers import ROOT, free_port, process_env, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.single_backend]

VENV = Path(sys.executable).parent.parent
MARK = "BILLING_NOTIFIER_TRY_IT_RUN"  # tags every process a test's `make run` starts


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    dest = tmp_path / "checkout"
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():  # deleted but not yet staged files are skipped
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def make(target: str) -> list[str]:
    # -o: never reinstall into the shared virtualenv, whatever the mtimes say.
    return ["make", "--no-print-directory", f"VENV={VENV}", "-o", f"{VENV}/.installed", target]


def user_env(checkout: Path, port: int, **settings: str) -> dict[str, str]:
    # PYTHONPATH: the virtualenv's editable install points at this repository;
    # the copy's own code must win (gunicorn.conf.py imports the service
    # before Gunicorn puts its working directory on sys.path).
    env = process_env(PORT=str(port), PYTHONPATH=str(checkout), **settings)
    # A user's shell, not a make recipe: `make test`'s own flags stay out.
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
        env.pop(name, None)
    return env


def _marked(marker: str) -> list[int]:
    pids = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        with contextlib.suppress(OSError):
            if f"{MARK}={marker}".encode() in environ.read_bytes().split(b"\0"):
                pids.append(int(environ.parent.name))
    return pids


def _stop(popen: subprocess.Popen, marker: str) -> None:
    """SIGTERM to make's process group (honcho stops web and worker, which it
    started in sessions of their own); then SIGKILL whatever still carries
    this run's marker."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(popen.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while _marked(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in _marked(marker):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    popen.wait(timeout=10)


class MakeRun:
    def __init__(self, checkout: Path, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self.marker = uuid.uuid4().hex
        self.port = int(env["PORT"])
        with open(log_path, "wb") as log:
            self.popen = subprocess.Popen(
                make("run"),
                cwd=checkout,
                env={**env, MARK: self.marker},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_up(self) -> None:
        def up() -> bool:
            if self.popen.poll() is not None:
                raise AssertionError(f"make run exited:\n{self.output()[-4000:]}")
            try:
                return requests.get(f"{self.base}/healthz", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_until(up, 40, interval=0.2, message="make run's web process")


@contextlib.contextmanager
def make_run(checkout: Path, env: dict[str, str], log_path: Path) -> Iterator[MakeRun]:
    run = MakeRun(checkout, env, log_path)
    try:
        run.wait_up()
        yield run
    finally:
        _stop(run.popen, run.marker)


def test_make_run_then_make_demo(checkout, tmp_path):
    env = user_env(checkout, free_port())
    with make_run(checkout, env, tmp_path / "make-run.log") as run:
        demo = subprocess.run(
            make("demo"), cwd=checkout, env=env, capture_output=True, text=True, timeout=90
        )
        report = demo.stdout
        assert demo.returncode == 0, f"{report}\n{demo.stderr}\n{run.output()[-4000:]}"

        for event_type in HANDLERS:
            assert re.search(rf"^  {re.escape(event_type)} +200 processed ", report, re.M), (
                event_type,
                report,
            )
        emails = re.findall(r"^  (\w+) +to (\S+) +\[(\w+)\]$", report, re.M)
        assert sorted(template for template, _, _ in emails) == sorted(TEMPLATES), report
        assert {(to, status) for _, to, status in emails} == {(CUSTOMER_EMAIL, "skipped")}
        subjects = re.findall(r"^      subject: (.+)$", report, re.M)
        assert len(subjects) == len(TEMPLATES)
        assert "      | Thank you for your payment of $20.00" in report  # what the emails say
        assert "logged by the worker\n  in the `make run` terminal" in report
        assert f"curl {run.base}/readyz" in report and "(now: ok)" in report
        assert f"{run.base}/v1/admin/webhook-events" in report

        # What the user sees in the `make run` terminal: where things are, and
        # each email as the console backend printed it, readable.
        def printed() -> bool:
            return run.output().count("(console backend, not sent)") >= len(TEMPLATES)

        wait_until(printed, 10, message="the console backend's lines")
        out = run.output()
        assert f"web        http://localhost:{run.port}" in out
        assert "var/dev-webhook-secret (created now)" in out
        console = r"^.* worker\.1 +\| .*\(console backend, not sent\) to \S+: "
        for subject in subjects:  # followed by the text, on the next lines or escaped
            assert re.search(console + re.escape(subject) + r"($|\\n)", out, re.M), subject

    secret = (checkout / "var" / "dev-webhook-secret").read_text().strip()
    assert secret.startswith("whsec_") and secret not in out  # used, never printed
    assert (checkout / "var" / "development.sqlite3").is_file()


def test_make_run_in_production_ignores_the_development_secret(checkout, tmp_path):
    secret_file = checkout / "var" / "dev-webhook-secret"
    secret_file.parent.mkdir()
    secret_file.write_text("whsec_left_over_from_development_0123456789\n")
    env = user_env(
        checkout,
        free_port(),
        APP_ENV="production",
        DATABASE_URL=f"sqlite:///{tmp_path / 'production.sqlite3'}",
        METRICS_TOKEN="try-it-metrics-token-0123456789abcdef",
        ADMIN_TOKEN="try-it-admin-token-0123456789abcdef0",
        EMAIL_BACKEND="smtp",
        SMTP_URL=f"smtp://127.0.0.1:{free_port()}",
    )
    with make_run(checkout, env, tmp_path / "make-run.log") as run:
        payload, headers = signed(story()[0], secret_file.read_text().strip())
        response = requests.post(
            f"{run.base}/v1/webhooks/stripe", data=payload, headers=headers, timeout=10
        )
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "server_misconfigured"
    assert "dev-webhook-secret" not in run.output()
    assert "billing-notifier, development" not in run.output()
