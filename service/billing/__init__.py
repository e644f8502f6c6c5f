"""Billing state mirrored from Stripe events: customers, subscriptions, invoices, refunds.

Plain state: billing imports no email and decides no mail (webhooks does).
"""

from flask import Flask


def init_app(app: Flask) -> None:
    """Billing has no routes, commands or metrics of its own (yet); its tables
    reach the metadata through service.models."""
