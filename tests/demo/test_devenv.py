"""`make run`'s development secret: created once, used in development only."""

from __future__ import annotations

import stat

import pytest

from demo import devenv


def run(capsys, env: dict[str, str], path) -> tuple[str, str]:
    assert devenv.main(env, path) == 0
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_development_creates_the_secret_once_and_exports_it(capsys, tmp_path):
    path = tmp_path / "var" / "dev-webhook-secret"
    out, err = run(capsys, {}, path)
    secret = path.read_text().strip()
    assert secret.startswith("whsec_") and len(secret) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert out == f"export STRIPE_WEBHOOK_SECRET={secret}\n"
    assert "created now" in err and secret not in err  # the banner never shows it

    again, err = run(capsys, {"APP_ENV": "development", "PORT": "8123"}, path)
    assert again == out  # kept across runs: a running `stripe listen` or demo still matches
    assert "kept from an earlier run" in err and "http://localhost:8123" in err
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_a_configured_secret_wins_and_the_file_is_left_alone(capsys, tmp_path):
    path = tmp_path / "dev-webhook-secret"
    out, err = run(capsys, {"STRIPE_WEBHOOK_SECRET": "whsec_from_stripe_cli"}, path)
    assert out == "" and not path.exists()
    assert "STRIPE_WEBHOOK_SECRET from your environment" in err
    env = {"STRIPE_WEBHOOK_SECRET": "whsec_a, whsec_b"}
    assert devenv.webhook_secret(env, path) == "whsec_a"  # what make demo signs with


@pytest.mark.parametrize("app_env", ["production", "test", "PRODUCTION"])
def test_outside_development_the_file_is_never_read_or_created(capsys, tmp_path, app_env):
    # A directory where the file would be: any attempt to read it would raise.
    trap = tmp_path / "dev-webhook-secret"
    trap.mkdir()
    assert run(capsys, {"APP_ENV": app_env}, trap) == ("", "")
    assert devenv.webhook_secret({"APP_ENV": app_env}, trap) is None
    fresh = tmp_path / "var" / "dev-webhook-secret"
    assert run(capsys, {"APP_ENV": app_env}, fresh) == ("", "")
    assert not fresh.parent.exists()


def test_make_demo_signs_with_the_file_in_development(tmp_path):
    path = tmp_path / "dev-webhook-secret"
    assert devenv.webhook_secret({}, path) is None  # `make run` not started yet
    secret, created = devenv.ensure_secret(path)
    assert created
    assert devenv.webhook_secret({"APP_ENV": "development"}, path) == secret
    assert devenv.ensure_secret(path) == (secret, False)


def test_a_damaged_file_is_reported_not_replaced(tmp_path):
    path = tmp_path / "dev-webhook-secret"
    path.write_text("")
    with pytest.raises(SystemExit, match="delete it"):
        devenv.ensure_secret(path)
    assert path.read_text() == ""


def test_the_processes_never_read_the_file():
    # The secret reaches the processes only as STRIPE_WEBHOOK_SECRET, so a
    # production dyno cannot pick it up whatever is on its disk. (That they
    # never import demo/ is an import-linter contract, see .importlinter.)
    for package in ("service", "jobs"):
        for source in devenv.ROOT.joinpath(package).rglob("*.py"):
            assert "dev-webhook-secret" not in source.read_text(), source
