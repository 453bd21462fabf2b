"""An import started in the admin: the uploaded file, how far it has come, and its report.

The upload is kept in the database, not on disk, because the Celery worker that runs the
import may be on another machine, and MEDIA_ROOT is served publicly while a mailing list is
personal data. The file is cleared when the import ends; the report stays.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportJobStatus(models.TextChoices):
    QUEUED = "queued", _("I kö")
    RUNNING = "running", _("Pågår")
    DONE = "done", _("Klar")
    FAILED = "failed", _("Misslyckades")


FINISHED_IMPORT_STATUSES = (ImportJobStatus.DONE, ImportJobStatus.FAILED)


class ImportStage(models.TextChoices):
    """How far a running import has come; the three steps of `subscribers.importing`."""

    READING = "reading", _("Läser filen")
    CHECKING = "checking", _("Kontrollerar raderna")
    WRITING = "writing", _("Sparar")


class ImportJob(models.Model):
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("startad av"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("skapad"), auto_now_add=True)
    filename = models.CharField(_("fil"), max_length=255)
    content = models.BinaryField(_("filens innehåll"), default=b"")
    segment_slugs = models.JSONField(_("segment"), default=list)
    update = models.BooleanField(_("uppdatera befintliga"), default=False)
    dry_run = models.BooleanField(_("provkörning"), default=False)
    # The report's reasons are written in the language of the person who uploaded the file.
    language = models.CharField(_("språk"), max_length=8, default="sv")
    status = models.CharField(
        _("status"), max_length=16, choices=ImportJobStatus.choices, default=ImportJobStatus.QUEUED
    )
    stage = models.CharField(
        _("steg"), max_length=16, choices=ImportStage.choices, default=ImportStage.READING
    )
    rows_done = models.PositiveIntegerField(_("kontrollerade rader"), default=0)
    rows_total = models.PositiveIntegerField(_("rader"), default=0)
    # Each claim by a worker counts; a run that died is taken over once its time is up.
    attempts = models.PositiveSmallIntegerField(_("försök"), default=0)
    started_at = models.DateTimeField(_("startad"), null=True, blank=True)
    finished_at = models.DateTimeField(_("klar"), null=True, blank=True)
    report = models.JSONField(_("rapport"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("importer")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_IMPORT_STATUSES
