"""Email: outbox, templates, backends, dispatch and the dead-letter queue."""
