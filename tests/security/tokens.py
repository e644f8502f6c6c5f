"""Tokens for the security tests: at least 32 characters, all different."""

ADMIN = "sec-admin-token-0123456789abcdef0123456789"
READONLY = "sec-readonly-token-0123456789abcdef01234567"
METRICS = "sec-metrics-token-0123456789abcdef012345678"
PROD = {
    "APP_ENV": "production",
    "EMAIL_BACKEND": "smtp",
    "SMTP_URL": "smtp://127.0.0.1:2525",
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
