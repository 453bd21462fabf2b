"""Celery tasks of the newsletter app: thin, idempotent, taking IDs (found by the Celery app's
autodiscovery in worker/celery.py). Like worker/tasks.py they import their code inside the
body, so services can import the tasks at the top to enqueue them on commit."""

from celery import shared_task


@shared_task
def link_check_run_task(link_check_id: int) -> None:
    from .linkcheck import link_check_run

    link_check_run(link_check_id=link_check_id)
