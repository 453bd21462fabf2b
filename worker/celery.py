"""The Celery app. `celery -A worker worker` starts a worker against REDIS_URL;
`celery -A worker beat` runs the periodic sweeper and starts scheduled dispatches
(CELERY_BEAT_SCHEDULE in settings)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lansnytt.settings")

app = Celery("lansnytt")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
