"""Celery tasks of the subscribers app: thin, taking IDs; the work is in emails, retention and
the import jobs.

Tasks import the code they run inside their bodies; services import these at the top and
enqueue them with transaction.on_commit, so a task never looks for a row that is not
committed yet. A mail task may run twice (a worker dying after the server's 250): the
person then gets the same message twice, which is better than not at all.
"""

from celery import shared_task
from django.conf import settings

# A mail server that is down or says 4xx gets 1, 2, 4, 8 and 16 minutes more.
MAIL_RETRIES = 5
MAIL_RETRY_BASE_SECONDS = 60


def _mail_with_retries(task, send, **ids) -> None:
    from .emails import MailDeferred

    try:
        send(**ids)
    except MailDeferred as error:
        countdown = MAIL_RETRY_BASE_SECONDS * 2**task.request.retries
        raise task.retry(exc=error, countdown=countdown, max_retries=MAIL_RETRIES) from error


@shared_task(bind=True)
def signup_mail_send_task(self, consent_event_id: int) -> None:
    from .emails import signup_mail_send

    _mail_with_retries(self, signup_mail_send, consent_event_id=consent_event_id)


@shared_task(bind=True)
def preferences_changed_mail_send_task(self, consent_event_id: int) -> None:
    from .emails import preferences_changed_mail_send

    _mail_with_retries(self, preferences_changed_mail_send, consent_event_id=consent_event_id)


@shared_task(bind=True)
def welcome_mail_send_task(self, consent_event_id: int) -> None:
    from .welcome import welcome_mail_send

    _mail_with_retries(self, welcome_mail_send, consent_event_id=consent_event_id)


@shared_task(bind=True)
def privacy_link_mail_send_task(self, privacy_request_id: int) -> None:
    from .emails import privacy_link_mail_send

    _mail_with_retries(self, privacy_link_mail_send, privacy_request_id=privacy_request_id)


@shared_task(bind=True)
def export_done_mail_send_task(self, privacy_request_id: int) -> None:
    from .emails import export_done_mail_send

    _mail_with_retries(self, export_done_mail_send, privacy_request_id=privacy_request_id)


@shared_task(bind=True)
def erasure_done_mail_send_task(self, email: str, language: str) -> None:
    # The one task that takes an address instead of an ID: after erasure the database no
    # longer knows it, and the broker forgets it once the task has run.
    from .emails import erasure_done_mail_send

    _mail_with_retries(self, erasure_done_mail_send, email=email, language=language)


@shared_task
def pending_signups_purge_task() -> None:
    from .retention import pending_signups_purge

    pending_signups_purge()


# Celery stops a run at the soft limit (the import rolls back and the job says why) and
# kills it 30 seconds later if it does not stop.
@shared_task(
    bind=True,
    soft_time_limit=settings.IMPORT_TIME_LIMIT_SECONDS,
    time_limit=settings.IMPORT_TIME_LIMIT_SECONDS + 30,
)
def import_job_run_task(self, job_id: int) -> None:
    from .importing.jobs import import_job_run

    wait = import_job_run(job_id=job_id)
    # Another run holds the job; if it died, its claim expires and this run takes over. In
    # process (no broker) there is no other run, and no later to wait for.
    if wait is not None and not self.request.is_eager:
        import_job_run_task.apply_async((job_id,), countdown=wait)
