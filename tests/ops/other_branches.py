"""Names SPEC.md fixes that other branches are building while this one is written.

The dashboard and runbook tests accept these as existing although this tree
cannot show them yet. Whoever merges those branches empties these sets (or
deletes this module and its uses); the tests then check the real thing.
"""

# Metric families: webhooks, the dead-letter queue gauge, circuits.
# (email_notifications_total is declared here already, by the durable counters.)
FAMILIES_FROM_OTHER_BRANCHES = {
    "webhook_events_total",
    "webhook_errors_total",
}

# Label names and values of those families (and of email_notifications_total,
# which has no samples until the email branch sends mail), as SPEC.md lists them.
LABELS_FROM_OTHER_BRANCHES = {
    "result": {"processed", "duplicate", "ignored", "rejected", "failed"},
    "type": {"invalid_signature", "payload_mismatch", "processing_error"},
}

JOBS_FROM_OTHER_BRANCHES: set[str] = set()

# Admin endpoints for the dead-letter queue, circuits and stored webhook events,
# and the Stripe webhook itself.
PATHS_FROM_OTHER_BRANCHES = {
    "/v1/admin/webhook-events",
    "/v1/admin/webhook-events/<id>/reprocess",
    "/v1/webhooks/stripe",
}

CLI_GROUPS_FROM_OTHER_BRANCHES = {"webhooks"}
