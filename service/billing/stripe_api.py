"""Outgoing Stripe API calls, behind a small interface chosen by config.

The real client is the Stripe library's own (`StripeClient` with `api_base`
pointed at STRIPE_API_BASE): it speaks Stripe's wire format, error envelopes
included, so a 404 arrives as InvalidRequestError and a 5xx as APIError
without us re-implementing either. Retries are off (the breaker and Stripe's
webhook retries do that job) and the timeout is short, because the call
sits inside a webhook request that must answer within seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import stripe

from ..config import Settings

TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class RemoteCustomer:
    id: str
    email: str | None
    name: str | None
    deleted: bool = False


class StripeApiError(Exception):
    """The call failed. `outage`: True when Stripe looked down (network,
    timeout, 429, 5xx; only that counts against the breaker), False when it
    answered with a refusal (it is up), None when no call was made."""

    def __init__(self, message: str, outage: bool | None) -> None:
        super().__init__(message)
        self.outage = outage


class StripeApi(Protocol):
    # False for the null client: no call is made, so the breaker is left alone.
    uses_network: bool

    def retrieve_customer(self, customer_id: str) -> RemoteCustomer: ...


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _is_outage(exc: stripe.StripeError) -> bool:
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        return True
    return (exc.http_status or 500) >= 500


class LiveStripeApi:
    uses_network = True

    def __init__(self, api_key: str, api_base: str, timeout: float = TIMEOUT_SECONDS) -> None:
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    def retrieve_customer(self, customer_id: str) -> RemoteCustomer:
        try:
            customer = self._client.v1.customers.retrieve(customer_id).to_dict()
        except stripe.StripeError as exc:
            status = exc.http_status or "no response"
            raise StripeApiError(
                f"Stripe API GET /v1/customers/{customer_id} failed ({status}): "
                f"{type(exc).__name__}: {exc.user_message or exc}",
                outage=_is_outage(exc),
            ) from None
        return RemoteCustomer(
            id=customer_id,
            email=_text(customer.get("email")),
            name=_text(customer.get("name")),
            deleted=bool(customer.get("deleted")),
        )


class UnconfiguredStripeApi:
    """STRIPE_API_KEY unset: nothing can be fetched, and the error says why."""

    uses_network = False

    def retrieve_customer(self, customer_id: str) -> RemoteCustomer:
        raise StripeApiError(
            f"STRIPE_API_KEY is not configured; cannot fetch customer {customer_id}.",
            outage=None,
        )


def client_for(settings: Settings) -> StripeApi:
    if not settings.stripe_api_key:
        return UnconfiguredStripeApi()
    return LiveStripeApi(settings.stripe_api_key, settings.stripe_api_base)
