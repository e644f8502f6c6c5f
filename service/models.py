"""Every domain's tables on one metadata (for Alembic), and the database set-up.

Part of the factory layer: it imports every domain's models, so no domain
imports it.
"""

from flask import Flask

from .audit.models import AuditEntry
from .billing.models import ChargeRefund, Customer, Invoice, Subscription
from .circuits.models import Circuit
from .config import PROJECT_ROOT
from .db import init_engine
from .email.models import EmailAttempt, EmailMessage, Suppression
from .extensions import db, migrate
from .jobstate.models import DurableCounter, JobRun, JobRunRequest, JobState, Lease
from .observability.models import CounterShard, MetricsSnapshot
from .webhooks.models import WebhookEvent

__all__ = [
    "AuditEntry",
    "ChargeRefund",
    "Circuit",
    "CounterShard",
    "Customer",
    "DurableCounter",
    "EmailAttempt",
    "EmailMessage",
    "Invoice",
    "JobRun",
    "JobRunRequest",
    "JobState",
    "Lease",
    "MetricsSnapshot",
    "Subscription",
    "Suppression",
    "WebhookEvent",
]


def init_app(app: Flask) -> None:
    """Flask-SQLAlchemy and Flask-Migrate on the app; engine tuning per backend."""
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    with app.app_context():
        init_engine(db.engine)
