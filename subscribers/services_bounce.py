"""Marking a subscriber as bounced when the mail server refuses the mailbox while sending.

Used by the sending pipeline (worker/); the rule itself lives in subscribers.bounce_policy,
with every other way a bounce arrives.
"""

import re

from .bounce_policy import HARD, Feedback, feedback_apply
from .models import ConsentSource

_ENHANCED_STATUS = re.compile(r"\b5\.\d{1,3}\.\d{1,3}\b")


def subscriber_mark_bounced(*, subscriber_id: int, email: str, reply: str) -> None:
    """Suppress the address and set the subscriber to bounced (idempotent)."""
    # The enhanced status code (RFC 3463) the server gave with its 5xx reply, if any.
    code = _ENHANCED_STATUS.search(reply)
    feedback_apply(
        feedback=Feedback(
            kind=HARD,
            email=email,
            source=ConsentSource.SMTP,
            subscriber_id=subscriber_id,
            status=code.group(0) if code else "",
            reason=reply,
        )
    )
