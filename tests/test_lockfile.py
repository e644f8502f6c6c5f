"""requirements.lock covers setup.cfg: a dependency added without `make lock`
would install nowhere (make install and CI install only from the lock)."""

from __future__ import annotations

import configparser
import re

from tests.helpers import ROOT


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_every_setup_cfg_dependency_is_pinned_with_hashes_in_the_lock():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    wanted = [
        line
        for block in (
            config["options"]["install_requires"],
            config["options.extras_require"]["test"],
        )
        for line in block.splitlines()
        if line.strip()
    ]
    lock = (ROOT / "requirements.lock").read_text()
    pinned = {
        m.group(1).lower().replace("_", "-"): m.group(2)
        for m in re.finditer(r"^([A-Za-z0-9._-]+)==(\S+) \\$", lock, re.MULTILINE)
    }
    missing = sorted({_name(r) for r in wanted} - set(pinned))
    assert not missing, f"not in requirements.lock (run `make lock`): {missing}"
    assert lock.count("--hash=sha256:") >= len(pinned)
