"""Stripe webhooks: verification, storage, application to billing state."""
