"""The breaker as other processes see it: `circuit_state` 2 on a scrape, and
one half-open trial however many processes ask at once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from service.circuits import breaker
from service.circuits.models import OPEN, Circuit
from service.extensions import db
from service.timeutil import utcnow
from tests.helpers import ROOT, process_env, sample_value

PROCESSES = 4


def _open_long_ago(app, name: str) -> None:
    with app.app_context():
        breaker.get(name)
        with db.engine.begin() as conn:
            conn.execute(
                update(Circuit)
                .where(Circuit.name == name)
                .values(state=OPEN, opened_at=utcnow() - timedelta(seconds=60))
            )


def test_half_open_is_2_on_a_scrape(make_app):
    app = make_app(CIRCUIT_RESET_SECONDS="30")
    _open_long_ago(app, "email")
    with app.app_context():
        assert breaker.allow("email")  # takes the trial: half-open until it reports
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert sample_value(text, "circuit_state", circuit="email") == 2
    assert sample_value(text, "circuit_state", circuit="stripe") == 0
    with app.app_context():
        breaker.record_success("email")
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert sample_value(text, "circuit_state", circuit="email") == 0


RACER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from service import create_app
    from service.circuits import breaker
    url, go = sys.argv[1], Path(sys.argv[2])
    app = create_app({"APP_ENV": "test", "DATABASE_URL": url, "CIRCUIT_RESET_SECONDS": "30"})
    with app.app_context():
        breaker.get("stripe")  # connect first, so the race is the UPDATE alone
        print("ready", flush=True)
        while not go.exists():
            time.sleep(0.005)
        print("trial" if breaker.allow("stripe") else "refused", flush=True)
    """
)


def test_one_half_open_trial_across_processes(make_app, migrated, tmp_path: Path):
    """Separate processes (separate engines and connections) ask for the
    trial at the same moment: exactly one gets it."""
    app = make_app()
    _open_long_ago(app, "stripe")
    go = tmp_path / "go"
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, migrated, str(go)],
            cwd=ROOT,
            env=process_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    try:
        for racer in racers:
            assert racer.stdout is not None
            assert racer.stdout.readline().strip() == "ready", racer.stderr.read()
        go.touch()
        answers = []
        for racer in racers:
            out, err = racer.communicate(timeout=60)
            assert racer.returncode == 0, err
            answers.append(out.strip())
    finally:
        for racer in racers:
            if racer.poll() is None:
                racer.kill()
    assert sorted(answers) == ["refused"] * (PROCESSES - 1) + ["trial"], answers
    with app.app_context():
        assert breaker.get("stripe").state == "half_open"
