"""Circuit breakers whose state lives in the database, shared by every process."""
