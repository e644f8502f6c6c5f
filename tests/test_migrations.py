from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from service.email.models import POSTGRESQL_ONLY_INDEXES
from service.extensions import db


def test_models_and_migrations_agree(app):
    with app.app_context(), db.engine.connect() as connection:
        dialect = connection.dialect.name

        def include_object(obj, name, type_, reflected, compare_to) -> bool:
            # Trigram indexes exist on PostgreSQL only (the model says ddl_if).
            postgresql_only = type_ == "index" and name in POSTGRESQL_ONLY_INDEXES
            return dialect == "postgresql" or not postgresql_only

        opts = {"compare_type": True, "include_object": include_object}
        context = MigrationContext.configure(connection, opts=opts)
        assert compare_metadata(context, db.metadata) == []


def test_migrations_are_at_head(app):
    from alembic.script import ScriptDirectory

    with app.app_context(), db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        config = app.extensions["migrate"].migrate.get_config()
        assert current == ScriptDirectory.from_config(config).get_current_head()
