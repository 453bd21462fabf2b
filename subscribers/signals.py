"""Signals other apps use to keep their own copies of personal data in step."""

from django.dispatch import Signal

# Sent inside the erasure's transaction with `subscriber_id`. Apps that keep a snapshot of
# the person's address (the sending pipeline's deliveries, the frozen lines of final print
# runs) clear it here, so that subscribers never has to know about them.
subscriber_erased = Signal()
