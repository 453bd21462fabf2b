"""Retention periods of 0 or less are refused by a system check (worker.E006)."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from worker.checks import RETENTION_SETTINGS, retention_settings_check


@pytest.mark.parametrize("name", RETENTION_SETTINGS)
@pytest.mark.parametrize("value", [0, -30])
def test_it_refuses_a_retention_of_zero_or_less(settings, name, value):
    setattr(settings, name, value)

    (error,) = retention_settings_check(None)

    assert error.id == "worker.E006"
    assert name in error.msg
    with pytest.raises(SystemCheckError, match="worker.E006"):
        call_command("check")


def test_the_defaults_pass(settings):
    assert retention_settings_check(None) == []
    assert settings.RETENTION_DELIVERY_DAYS == 365
    assert settings.CELERY_BEAT_SCHEDULE["records-purge"]["task"] == (
        "worker.tasks.records_purge_task"
    )


@pytest.mark.django_db
def test_the_beat_task_runs_the_same_purge():
    from audit.models import AuditAction, AuditEntry
    from worker.tasks import records_purge_task

    records_purge_task.apply()

    assert AuditEntry.objects.filter(action=AuditAction.RETENTION_PURGE).count() == 1
