"""Test sends: the issue, marked as a test, to a few addresses, through the batches' own code.

Used by `send_issue --test` and, through `newsletter.testsend`, by the preview page. Nothing is
recorded as a delivery.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from newsletter.models import Issue
from newsletter.testsend import TestSendResult
from subscribers.models import Subscriber
from subscribers.validation import email_normalise

from .message import AddressNotSendable
from .outgoing import message_build, message_send, message_template_for, recipient_make
from .transport import DeliveryRefused, TransportBroken, transport_make

SUBJECT_PREFIX = "[TEST] "


def test_addresses_check(emails: Iterable[str]) -> list[str]:
    """The addresses in their stored form; every invalid one is named in one error."""
    raw = [email.strip() for email in emails if email.strip()]
    if not raw:
        raise ValidationError(_("Ange minst en e-postadress."))
    addresses, invalid = [], []
    for email in raw:
        try:
            addresses.append(email_normalise(email))
        except ValidationError:
            invalid.append(email)
    if invalid:
        raise ValidationError(
            _("Ogiltiga e-postadresser: %(addresses)s") % {"addresses": ", ".join(invalid)}
        )
    return addresses


def dispatch_test_send(*, issue: Issue, emails: Iterable[str], actor=None) -> list[TestSendResult]:
    """Send the issue to the addresses as readers get it, with "[TEST] " before the subject.

    A test address that belongs to a subscriber gets that subscriber's own links, any other
    gets links signed for no one.
    """
    addresses = test_addresses_check(emails)
    template = message_template_for(
        issue=issue, language=issue.language, subject_prefix=SUBJECT_PREFIX
    )
    subscribers = {s.email: s for s in Subscriber.objects.filter(email__in=addresses)}
    transport = transport_make()
    results = []
    try:
        for email in addresses:
            subscriber = subscribers.get(email)
            recipient = recipient_make(
                subscriber_id=subscriber.pk if subscriber else 0,
                email=email,
                name=subscriber.name if subscriber else "",
            )
            try:
                reply = message_send(
                    transport=transport,
                    message=message_build(template=template, recipient=recipient),
                )
            except (AddressNotSendable, DeliveryRefused, TransportBroken) as error:
                results.append(TestSendResult(email=email, ok=False, reply=str(error)))
            else:
                results.append(TestSendResult(email=email, ok=True, reply=reply))
    finally:
        transport.close()
    # Counts only: a test address may be a subscriber's, and the trail names no addresses.
    audit_record(
        action=AuditAction.TEST_SEND,
        actor=actor,
        target=issue,
        detail={
            "addresses": len(results),
            "accepted": sum(1 for result in results if result.ok),
        },
    )
    return results
