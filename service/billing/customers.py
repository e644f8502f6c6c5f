"""Who gets the email: the payload's address, else the stored customer's,
else the customer fetched from the Stripe API through the `stripe` breaker."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import Row, select

from ..circuits import breaker
from ..db import core_transaction, execute
from .models import Customer
from .state import remember_customer
from .stripe_api import RemoteCustomer, StripeApiError, client_for

log = logging.getLogger(__name__)


class CustomerLookupError(Exception):
    """The customer could not be fetched; the event has to wait and retry."""


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str | None


def stored(customer_id: str | None) -> Row[Any] | None:
    """The stored customer's email and name (in the caller's transaction)."""
    if not customer_id:
        return None
    table = Customer.__table__
    return execute(select(table.c.email, table.c.name).where(table.c.id == customer_id)).first()


def recipient(
    customer_id: str | None, email: str | None = None, name: str | None = None
) -> Recipient | None:
    """Payload values first, stored ones fill the gaps; None without an address."""
    if email and name:  # nothing to fill: no read
        return Recipient(email, name)
    customer = stored(customer_id)
    email = email or (customer.email if customer else None)
    name = name or (customer.name if customer else None)
    return Recipient(email, name) if email else None


def needs_lookup(customer_id: str | None, payload_email: str | None) -> bool:
    if payload_email or not customer_id:
        return False
    # A read transaction of its own, ended before the Stripe API call that may
    # follow and before the event's own transaction (another connection).
    with core_transaction():
        customer = stored(customer_id)
    return customer is None or not customer.email


def lookup(customer_id: str) -> RemoteCustomer:
    """Fetch through the breaker. Each breaker call commits on its own, so
    call this between transactions, never inside the event's."""
    api = client_for(current_app.config["SETTINGS"])
    if api.uses_network:
        try:
            breaker.check("stripe")
        except breaker.CircuitOpenError as exc:
            raise CustomerLookupError(f"{exc}; Stripe API not called") from None
    try:
        customer = api.retrieve_customer(customer_id)
    except StripeApiError as exc:
        if exc.outage:
            breaker.record_failure("stripe", str(exc))
        elif exc.outage is False:
            breaker.record_success("stripe")  # Stripe answered, so it is up
        raise CustomerLookupError(str(exc)) from None
    breaker.record_success("stripe")
    if not customer.email:
        log.warning("Stripe customer %s has no email address", customer_id)
    return customer


def remember(customer: RemoteCustomer) -> None:
    """Keep a fetched customer so the next event for it needs no call."""
    remember_customer(customer.id, customer.email, customer.name)
