"""Blueprint `webhooks`: POST /v1/webhooks/stripe (see the webhooks issue)."""

from flask import Blueprint

webhooks = Blueprint("webhooks", __name__, url_prefix="/v1/webhooks")
