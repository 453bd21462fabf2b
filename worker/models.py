"""Dispatches (utskick) and their deliveries: one row per recipient and issue.

The row is the unit of work and the proof of what was sent. Its status only moves forward
through queued → sending → sent / failed / skipped / cancelled, except that a claim which
expired (the worker died) or a transient SMTP error puts it back to queued.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DispatchStatus(models.TextChoices):
    PLANNED = "planned", _("Planerat")
    SENDING = "sending", _("Skickas")
    PAUSED = "paused", _("Pausat")
    DONE = "done", _("Klart")
    CANCELLED = "cancelled", _("Avbrutet")
    FAILED = "failed", _("Misslyckat")


# Statuses in which nothing more will ever be sent.
DISPATCH_FINAL_STATUSES = (DispatchStatus.DONE, DispatchStatus.CANCELLED, DispatchStatus.FAILED)


class Dispatch(models.Model):
    """Sending one issue to the subscribers of some segments.

    `round` is 0 for ordinary dispatches; every deliberate resend of the same issue gets the
    next round. Deliveries are unique per (issue, subscriber, round), so a second ordinary
    dispatch to overlapping segments only adds the people not yet planned.
    """

    issue = models.ForeignKey(
        "newsletter.Issue",
        verbose_name=_("nummer"),
        on_delete=models.PROTECT,
        related_name="dispatches",
    )
    segments = models.ManyToManyField(
        "subscribers.Segment", verbose_name=_("segment"), blank=True, related_name="+"
    )
    all_segments = models.BooleanField(_("alla segment"), default=False)
    round = models.PositiveIntegerField(
        _("omgång"), default=0, help_text=_("0 för vanliga utskick; högre för omutskick.")
    )
    resend_of = models.ForeignKey(
        "self",
        verbose_name=_("omutskick av"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="resends",
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=DispatchStatus.choices,
        default=DispatchStatus.PLANNED,
        db_index=True,
    )
    status_reason = models.CharField(_("orsak"), max_length=500, blank=True)
    # A scheduled dispatch found long overdue is held for an editor instead of starting.
    awaiting_editor = models.BooleanField(_("väntar på redaktör"), default=False)
    # Paused by the emergency stop (worker/emergency.py): what "resume all" may resume, and
    # nothing that an editor or the failure check paused on its own.
    emergency_stopped = models.BooleanField(_("stoppat av nödstopp"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("skapat av"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("skapat"), auto_now_add=True)
    scheduled_at = models.DateTimeField(_("schemalagt till"), null=True, blank=True)
    # Recipients are planned when the dispatch starts, so a scheduled dispatch mails the
    # segments as they are then.
    planned_at = models.DateTimeField(_("mottagare planerade"), null=True, blank=True)
    started_at = models.DateTimeField(_("startat"), null=True, blank=True)
    finished_at = models.DateTimeField(_("avslutat"), null=True, blank=True)
    planned_count = models.PositiveIntegerField(_("planerade mottagare"), default=0)
    # Set when the retention rule (worker/retention.py) took the delivery rows away; from
    # then on the dispatch's numbers are read from its DispatchTotals row.
    deliveries_purged_at = models.DateTimeField(_("leveranser gallrade"), null=True, blank=True)
    # Frozen at start (worker.services._dispatch_start): every batch sends this rendering
    # version of the issue, whatever happens to the issue afterwards. Empty for dispatches
    # from before frozen sends, which send the current rendering.
    rendering_version = models.CharField(_("renderad version"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("utskick")
        verbose_name_plural = _("utskick")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("send_dispatch", _("Kan starta, pausa och avbryta utskick")),
            ("export_report", _("Kan exportera rapporter om utskick och nummer")),
        ]

    def __str__(self) -> str:
        return f"{self.issue} #{self.pk}"

    @property
    def is_final(self) -> bool:
        return self.status in DISPATCH_FINAL_STATUSES


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("I kö")
    SENDING = "sending", _("Skickas")
    SENT = "sent", _("Skickat")
    FAILED = "failed", _("Misslyckat")
    SKIPPED = "skipped", _("Hoppades över")
    CANCELLED = "cancelled", _("Avbrutet")


class Delivery(models.Model):
    dispatch = models.ForeignKey(
        Dispatch,
        verbose_name=_("utskick"),
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_index=False,  # the claim index starts with dispatch
    )
    # Denormalised from the dispatch so that the database itself can refuse a second
    # delivery of the same issue to the same person.
    # No database-level foreign key: the dispatch's own key to the issue already guards it,
    # and one trigger fewer per row matters when planning 100,000 rows in one INSERT.
    issue = models.ForeignKey(
        "newsletter.Issue",
        verbose_name=_("nummer"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,  # the unique constraint's index starts with issue
    )
    round = models.PositiveIntegerField(_("omgång"), default=0)
    # SET_NULL: the delivery record (status, time) outlives an erased subscriber. Django
    # carries out SET_NULL itself, so the database-level key (a trigger per planned row)
    # is left out for the sake of planning speed.
    subscriber = models.ForeignKey(
        "subscribers.Subscriber",
        verbose_name=_("prenumerant"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="deliveries",
        db_constraint=False,
    )
    email = models.CharField(_("e-postadress"), max_length=254)
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(_("försök"), default=0)
    next_attempt_at = models.DateTimeField(_("nästa försök"), null=True, blank=True)
    claimed_until = models.DateTimeField(_("reserverad till"), null=True, blank=True)
    # Which batch holds the claim: a batch renews and records only rows with its own token,
    # so a row the sweeper took back (and maybe handed to another batch) is out of its reach.
    claim_token = models.UUIDField(_("reservation"), null=True, blank=True)
    last_error = models.CharField(_("senaste fel"), max_length=1000, blank=True)
    smtp_reply = models.CharField(_("svar från e-postservern"), max_length=1000, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=255, blank=True)
    sent_at = models.DateTimeField(_("skickat"), null=True, blank=True)
    bounced_at = models.DateTimeField(
        _("studsade"),
        null=True,
        blank=True,
        help_text=_("När en studsrapport (DSN) kom tillbaka efter att servern tagit emot brevet."),
    )
    # Set when the recipient reported the message as spam (an ARF feedback report or a
    # provider's complaint webhook); the per-dispatch report counts these.
    complained_at = models.DateTimeField(
        _("klagomål"),
        null=True,
        blank=True,
        help_text=_("När mottagaren anmälde brevet som skräppost (ARF-rapport eller webhook)."),
    )
    finished_at = models.DateTimeField(_("avslutat"), null=True, blank=True)

    class Meta:
        verbose_name = _("leverans")
        verbose_name_plural = _("leveranser")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["issue", "subscriber", "round"], name="delivery_once_per_issue_round"
            ),
        ]
        # No index holds a column that a claim or a record changes (status, claimed_until,
        # claim_token, finished_at ...): then PostgreSQL writes both of a message's updates
        # as heap-only tuples, on the same page and without a new entry in every index
        # (measured: about a third of the database's CPU per message). The table's fillfactor
        # leaves the room on each page for that (migration 0011). What used to need such an
        # index reads a dispatch's rows through delivery_dispatch instead: the claim from
        # where the batch's last claim ended, the counts and the sweeper once per call.
        indexes = [
            models.Index(fields=["dispatch", "id"], name="delivery_dispatch"),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_status_display()})"


class KeptMessageReason(models.TextChoices):
    NOT_A_REPORT = "not_a_report", _("Inte en studs- eller klagomålsrapport")
    UNREADABLE = "unreadable", _("Rapport som inte gick att läsa")
    TOO_LARGE = "too_large", _("För stort för att läsas")


class KeptBounceMessage(models.Model):
    """A message from the bounce mailbox or a bounce file that nothing could be done with.

    Kept so that no message is lost: a reader's reply, a bounce in a format no detector
    knows, a message too large to parse. Staff read them in the admin. Only the start of the
    raw message is stored (BOUNCE_KEPT_MAX_BYTES), and the same message is kept once
    (`sha256` of the whole message), so polling or reading a file twice adds nothing.
    """

    received_at = models.DateTimeField(_("mottaget"), auto_now_add=True, db_index=True)
    source = models.CharField(_("källa"), max_length=16)  # a ConsentSource value
    origin = models.CharField(_("ursprung"), max_length=255, blank=True)
    reason = models.CharField(_("orsak"), max_length=16, choices=KeptMessageReason.choices)
    detail = models.CharField(_("detaljer"), max_length=500, blank=True)
    sender = models.CharField(_("avsändare"), max_length=255, blank=True)
    subject = models.CharField(_("ämne"), max_length=255, blank=True)
    size = models.PositiveIntegerField(_("storlek (byte)"))
    truncated = models.BooleanField(_("avkortat"), default=False)
    raw = models.BinaryField(_("meddelandet"))
    sha256 = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("sparat meddelande från studsbrevlådan")
        verbose_name_plural = _("sparade meddelanden från studsbrevlådan")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return self.subject or self.get_reason_display()


class DispatchTotals(models.Model):
    """What a dispatch came to, kept when its delivery rows were purged (gallrade).

    Written once, in the transaction that marks the dispatch purged, from the rows
    themselves: every number the reports and the admin showed (worker.reports,
    worker.selectors) is here, as counts and nothing that names a person. `hours` is the
    time table, {ISO hour: {outcome: n}}; `segments` the per-segment counts by segment id as
    the segments' members were at the purge (per segment always uses membership at the time
    it is read, and after the purge there is nothing left to read it from).
    """

    dispatch = models.OneToOneField(
        Dispatch,
        verbose_name=_("utskick"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="totals",
    )
    deliveries = models.PositiveIntegerField(_("leveranser"), default=0)
    queued = models.PositiveIntegerField(default=0)
    sending = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    bounced = models.PositiveIntegerField(default=0)
    complained = models.PositiveIntegerField(default=0)
    hours = models.JSONField(default=dict, blank=True)
    segments = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("sparat"), auto_now_add=True)

    class Meta:
        verbose_name = _("summor för gallrat utskick")
        verbose_name_plural = _("summor för gallrade utskick")

    def __str__(self) -> str:
        return str(self.dispatch_id)


class IssueReachTotals(models.Model):
    """Who an issue reached by email (worker.reports.issue_email_reach), kept when its
    deliveries were purged: the number of people and which organisations, no one by name."""

    issue = models.OneToOneField(
        "newsletter.Issue",
        verbose_name=_("nummer"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
    )
    people = models.PositiveIntegerField(default=0)
    organisation_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(_("sparat"), auto_now_add=True)

    class Meta:
        verbose_name = _("räckvidd för gallrat nummer")
        verbose_name_plural = _("räckvidd för gallrade nummer")

    def __str__(self) -> str:
        return str(self.issue_id)
