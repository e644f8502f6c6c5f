"""The Procfile's `release` step: apply migrations, log what was applied.

Run as `python -m service.release`. Kept out of create_app() on purpose:
migrations run once per deploy, not in every process that starts.
"""

from __future__ import annotations

import logging
import sys

from alembic.migration import MigrationContext
from flask_migrate import upgrade

from . import create_app_or_exit
from .extensions import db

log = logging.getLogger("service.release")


def _current_revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def main() -> int:
    app = create_app_or_exit()
    settings = app.config["SETTINGS"]
    with app.app_context():
        before = _current_revision()
        upgrade()
        after = _current_revision()
    log.info(
        "release: database at revision %s (was %s)",
        after,
        before,
        extra={
            "revision": after,
            "previous_revision": before,
            "version": settings.build_version,
            "commit": settings.build_commit,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
