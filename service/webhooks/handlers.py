"""What each handled event type needs from its payload and does to billing state.

A handler runs inside the event's transaction: state changes and the emails
they cause commit together or not at all. Anything a handler needs from
outside (a customer's address from the Stripe API) is fetched before that
transaction opens, see processing.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..billing import customers, state
from ..billing.fields import (
    Field,
    amount,
    currency,
    dig,
    flag,
    integer,
    mapping,
    optional,
    problem,
    required,
    status,
    stripe_id,
    text,
    timestamp,
)
from . import notices
from .event import StripeEvent
from .outcomes import payload_mismatch

log = logging.getLogger(__name__)
Hint = tuple[str | None, str | None, str | None]  # customer id, email, name in the payload


@dataclass(frozen=True)
class Handler:
    kind: str  # data.object.object
    spec: Mapping[str, Field]
    apply: Callable[[StripeEvent], None]
    # Events that send email: where the recipient is named in the payload.
    recipient: Callable[[dict[str, Any]], Hint] | None = None


CUSTOMER = {"id": required(stripe_id), "email": optional(text), "name": optional(text)}
CHECKOUT = {
    "id": required(stripe_id),
    "customer": optional(stripe_id),
    "customer_details": optional(mapping),
}
SUBSCRIPTION = {
    "id": required(stripe_id),
    "customer": required(stripe_id),
    "status": required(status),
    "current_period_end": optional(timestamp),
    "cancel_at_period_end": optional(flag),
    "trial_end": optional(timestamp),
    "canceled_at": optional(timestamp),
}
TRIAL = {**SUBSCRIPTION, "trial_end": required(timestamp)}
INVOICE = {
    "id": required(stripe_id),
    "customer": required(stripe_id),
    "status": required(status),
    "currency": required(currency),
    "amount_due": required(amount),
    "amount_paid": required(amount),
    "number": optional(text),
    "customer_email": optional(text),
    "customer_name": optional(text),
    "hosted_invoice_url": optional(text),
    "subscription": optional(stripe_id),
    "attempt_count": optional(integer),
}
CHARGE = {
    "id": required(stripe_id),
    "currency": required(currency),
    "amount": required(amount),
    "amount_refunded": required(amount),
    "customer": optional(stripe_id),
    "receipt_email": optional(text),
    "billing_details": optional(mapping),
    "refunded": optional(flag),
}


def _subscription_recipient(obj: dict[str, Any]) -> Hint:
    return obj["customer"], None, None


def _invoice_recipient(obj: dict[str, Any]) -> Hint:
    return obj["customer"], obj.get("customer_email") or None, obj.get("customer_name") or None


def _charge_recipient(obj: dict[str, Any]) -> Hint:
    email = dig(obj, "billing_details", "email") or obj.get("receipt_email") or None
    return obj.get("customer"), email, dig(obj, "billing_details", "name") or None


def _notify(event: StripeEvent, template: str, context: dict[str, Any]) -> None:
    handler = HANDLERS[event.type]
    assert handler.recipient is not None
    customer_id, email, name = handler.recipient(event.object)
    to = customers.recipient(customer_id, email, name)
    if to is None:
        # Not an error to retry: Stripe has no address for this customer.
        log.warning(
            "%s: no email address for customer %s; %s not sent", event.id, customer_id, template
        )
        return
    notices.notify(event.id, template, to, context)


def customer_changed(event: StripeEvent) -> None:
    state.apply_customer(event.object, event.created)


def checkout_completed(event: StripeEvent) -> None:
    obj = event.object
    if obj.get("customer"):
        email = dig(obj, "customer_details", "email")
        state.remember_customer(obj["customer"], email, dig(obj, "customer_details", "name"))


def subscription_changed(event: StripeEvent) -> None:
    state.apply_subscription(event.object, event.created)


def subscription_deleted(event: StripeEvent) -> None:
    state.apply_subscription(event.object, event.created)
    _notify(event, notices.SUBSCRIPTION_CANCELED, notices.subscription_context(event.object))


def trial_will_end(event: StripeEvent) -> None:
    row, applied = state.apply_subscription(event.object, event.created)
    if not applied and row.status != "trialing":
        # A newer event already ended the trial (paid early, canceled): the
        # warning would be wrong by the time it is read.
        log.info(
            "%s: subscription %s is %s now; trial_ending not sent", event.id, row.id, row.status
        )
        return
    _notify(event, notices.TRIAL_ENDING, notices.subscription_context(event.object))


def invoice_paid(event: StripeEvent) -> None:
    state.apply_invoice(event.object, event.created)
    _notify(event, notices.RECEIPT, notices.receipt_context(event.object))


def invoice_payment_failed(event: StripeEvent) -> None:
    row, applied = state.apply_invoice(event.object, event.created)
    if not applied and row.status in ("paid", "void"):
        # Delivered after the retry that paid it: do not ask for money again.
        log.info("%s: invoice %s is %s now; payment_failed not sent", event.id, row.id, row.status)
        return
    _notify(event, notices.PAYMENT_FAILED, notices.payment_failed_context(event.object))


def charge_refunded(event: StripeEvent) -> None:
    state.apply_charge_refund(event.object, event.created)
    _notify(event, notices.REFUND_ISSUED, notices.refund_context(event.object))


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": Handler("checkout.session", CHECKOUT, checkout_completed),
    "customer.created": Handler("customer", CUSTOMER, customer_changed),
    "customer.updated": Handler("customer", CUSTOMER, customer_changed),
    "customer.subscription.created": Handler("subscription", SUBSCRIPTION, subscription_changed),
    "customer.subscription.updated": Handler("subscription", SUBSCRIPTION, subscription_changed),
    "customer.subscription.deleted": Handler(
        "subscription", SUBSCRIPTION, subscription_deleted, _subscription_recipient
    ),
    "customer.subscription.trial_will_end": Handler(
        "subscription", TRIAL, trial_will_end, _subscription_recipient
    ),
    "invoice.paid": Handler("invoice", INVOICE, invoice_paid, _invoice_recipient),
    "invoice.payment_failed": Handler(
        "invoice", INVOICE, invoice_payment_failed, _invoice_recipient
    ),
    "charge.refunded": Handler("charge", CHARGE, charge_refunded, _charge_recipient),
}


def find(event_type: str) -> Handler | None:
    return HANDLERS.get(event_type)


def validate(event: StripeEvent) -> None:
    """Raise payload_mismatch when a handled event lacks what its handler reads."""
    handler = find(event.type)
    if handler is None:
        return
    kind = event.object.get("object")
    if kind != handler.kind:
        raise payload_mismatch(f"{event.type} must carry a {handler.kind!r} object, not {kind!r}.")
    trouble = problem(event.object, handler.spec)
    if trouble is not None:
        raise payload_mismatch(f"{event.type}: {trouble}.")


def customer_to_fetch(event: StripeEvent) -> str | None:
    """The customer whose address must come from the Stripe API, if any."""
    handler = find(event.type)
    if handler is None or handler.recipient is None:
        return None
    customer_id, email, _ = handler.recipient(event.object)
    return customer_id if customers.needs_lookup(customer_id, email) else None
