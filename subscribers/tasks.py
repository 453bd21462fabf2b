"""Celery tasks of the subscriber app: thin, idempotent, taking IDs.

Tasks import the code they run inside their bodies, and services import tasks at the top to
enqueue them on commit: that one convention keeps the import graph free of cycles.
"""

from celery import shared_task
from django.conf import settings


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
