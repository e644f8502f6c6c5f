"""Jinja templates: a subject, a text part and an HTML part per email.

HTML is autoescaped (a customer name is data, never markup); text is not
(it is not HTML). Undefined values render empty and every template gives
optional fields a fallback, so a sparse Stripe object still yields a
readable email.

Context each template reads (amounts in the currency's minor unit, as
Stripe sends them; times as unix seconds or ISO-8601):
- every template: `customer_name`
- receipt: `invoice_number`, `amount_paid`, `currency`, `paid_at`,
  `hosted_invoice_url`, `lines` (list of {description, amount})
- payment_failed: `invoice_number`, `amount_due`, `currency`,
  `next_payment_attempt`, `hosted_invoice_url`
- subscription_canceled: `plan_name`, `canceled_at`
- trial_ending: `plan_name`, `trial_end`
- refund_issued: `amount_refunded`, `currency`, `charge_id`, `receipt_url`
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, Template, Undefined, select_autoescape

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATES = ("receipt", "payment_failed", "subscription_canceled", "trial_ending", "refund_issued")
# ISO 4217 currencies Stripe treats as having no minor unit.
ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga"}
    | {"pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "inr": "₹"}


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def _missing(value: Any) -> bool:
    return value is None or value == "" or isinstance(value, Undefined)


def money(amount: Any, currency: Any = "usd") -> str:
    """Stripe minor units -> '$12.34' (or '12.34 CHF' without a symbol)."""
    if _missing(amount):
        return ""
    code = str(currency or "usd").lower()
    value = Decimal(int(amount))
    if code not in ZERO_DECIMAL:
        value = value / 100
    places = "1" if code in ZERO_DECIMAL else "0.01"
    number = f"{value.quantize(Decimal(places)):,}"
    symbol = SYMBOLS.get(code)
    return f"{symbol}{number}" if symbol else f"{number} {code.upper()}"


def date(value: Any) -> str:
    """Unix seconds or ISO-8601 -> '27 November 2026' (UTC)."""
    if _missing(value):
        return ""
    if isinstance(value, int | float):
        moment = datetime.fromtimestamp(value, UTC)
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return f"{moment.day} {moment:%B %Y}"


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Templates ship with the code: no stat() of three files per email.
        auto_reload=False,
    )
    env.filters.update(money=money, date=date)
    return env


PARTS = ("subject.txt", "txt", "html")


@functools.cache
def _parts(template: str) -> tuple[Template, Template, Template]:
    """Compiled once per process (an unknown name raises and is not cached)."""
    env = environment()
    subject, text, html = (env.get_template(f"{template}.{part}") for part in PARTS)
    return subject, text, html


def render(template: str, context: Mapping[str, Any]) -> RenderedEmail:
    """Render one email; raises jinja2.TemplateNotFound for an unknown name."""
    subject, text, html = (part.render(context) for part in _parts(template))
    return RenderedEmail(subject=" ".join(subject.split()), text=text, html=html)
