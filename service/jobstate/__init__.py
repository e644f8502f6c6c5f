"""What the worker records about its jobs, read by the web tier."""
