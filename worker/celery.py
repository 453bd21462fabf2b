"""The Celery app. `celery -A worker worker` starts a worker against REDIS_URL;
`celery -A worker beat` runs the periodic sweeper and starts scheduled dispatches
(CELERY_BEAT_SCHEDULE in settings)."""

import gc
import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lansnytt.settings")

app = Celery("lansnytt")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _url_configuration_load(**_kwargs) -> None:
    """Import the URL configuration once when the worker starts (the prefork children inherit
    it), not in the first batch: every message carries reversed URLs, and the first reverse()
    imports every app's urls and views, a quarter of a second or more that would otherwise
    delay the first dispatch a worker takes."""
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (the attribute imports the URLconf)
    # Everything loaded so far (Django, the apps, the URLconf: ~170,000 objects) lives as
    # long as the worker: out of the collector's reach, a full collection during a batch
    # scans only what the batches made (bench/profile_batch.py: 0.12 s → 0.01 s for the one
    # full collection of 20,000 messages), and prefork children share those pages longer.
    gc.freeze()
