"""Alembic environment, run through Flask-Migrate inside the app context.

Logging is not reconfigured here: the app factory already set it up (JSON
lines in production), and the ini file's fileConfig would replace it.
"""

from alembic import context
from flask import current_app

target_db = current_app.extensions["migrate"].db


def run_migrations_online() -> None:
    engine = target_db.engine
    options = dict(current_app.extensions["migrate"].configure_args)
    options.setdefault("compare_type", True)
    # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
    options.setdefault("render_as_batch", engine.dialect.name == "sqlite")
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_db.metadata, **options)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `flask db upgrade`")
run_migrations_online()
