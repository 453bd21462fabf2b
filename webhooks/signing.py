"""Standard Webhooks signatures (https://www.standardwebhooks.com/), through the reference
library so that receivers using any of its implementations verify what we send."""

from __future__ import annotations

from datetime import datetime

from standardwebhooks.webhooks import Webhook


def signed_headers(
    *, secret: str, message_id: str, timestamp: datetime, body: str
) -> dict[str, str]:
    """The three headers a receiver needs: webhook-id, webhook-timestamp, webhook-signature
    (v1, HMAC-SHA256 over "<id>.<timestamp>.<body>" with the endpoint's secret)."""
    signature = Webhook(secret).sign(message_id, timestamp, body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
    }
