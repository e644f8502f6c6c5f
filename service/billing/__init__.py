"""Billing state mirrored from Stripe events: customers, subscriptions, invoices, refunds."""
