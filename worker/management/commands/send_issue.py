import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from kombu.exceptions import OperationalError as BrokerError

from audit.services import command_line
from newsletter.models import Issue
from worker.batches import tasks_run_in_process
from worker.broker import broker_unreachable, broker_url_masked
from worker.models import DispatchStatus
from worker.preview import dispatch_preview
from worker.scheduling import schedule_check, schedule_parse, time_shown
from worker.services import dispatch_create
from worker.testsend import dispatch_test_send

from ._progress import DispatchWatch, watch_arguments_add, watch_exit_status


class Command(BaseCommand):
    help = "Skicka ett nummer till segment (alla om inget anges), som test eller schemalagt."

    def add_arguments(self, parser) -> None:
        parser.add_argument("issue_slug", metavar="ISSUE_SLUG")
        audience = parser.add_mutually_exclusive_group()
        audience.add_argument(
            "--segment",
            action="append",
            default=[],
            metavar="SLUG",
            help="Bara mottagare i dessa segment. Kan upprepas.",
        )
        # Spelled out because "no --segment" means "every segment" here, while export_print
        # without --segment filters nothing (readers in no segment are on the print list).
        audience.add_argument(
            "--all-segments",
            action="store_true",
            help="Alla som finns i minst ett segment (samma som att utelämna --segment).",
        )
        parser.add_argument(
            "--test",
            action="append",
            default=[],
            metavar="EMAIL",
            help="Skicka bara ett testutskick till dessa adresser. Kan upprepas.",
        )
        parser.add_argument(
            "--schedule",
            metavar="ISO_TIME",
            help=(
                "Starta vid denna tid, t.ex. 2026-03-01T08:00 (Europe/Stockholm om ingen "
                "tidszon anges). En tid som redan passerat vägras."
            ),
        )
        parser.add_argument(
            "--wait", action="store_true", help="Visa förloppet tills utskicket är klart."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Visa mottagarna per segment, spärrade och redan nådda, utan att skapa något.",
        )
        watch_arguments_add(parser)

    def handle(self, *args, **options) -> None:
        issue = Issue.objects.filter(slug=options["issue_slug"]).first()
        if issue is None:
            raise CommandError(f"Inget nummer med kortnamnet {options['issue_slug']!r}.")
        if options["test"]:
            self._test_send(issue, options["test"])
            return
        scheduled_at = None
        if options["schedule"]:
            try:
                scheduled_at = schedule_parse(options["schedule"])
            except ValidationError as error:
                raise CommandError("--schedule: " + " ".join(error.messages)) from error
        if options["dry_run"]:
            self._dry_run(issue, options["segment"], scheduled_at)
            return
        if scheduled_at is None and not tasks_run_in_process():
            # A dispatch that starts now is handed to the workers through the broker as its
            # transaction commits. With the broker away it would be planned and marked as
            # sending, and then the command would end in a traceback with no task queued:
            # look first, and create nothing.
            error = broker_unreachable().rstrip(".")
            if error:
                raise CommandError(
                    f"Kön ({broker_url_masked()}) svarar inte: {error}. Inget utskick har "
                    "skapats. Starta Redis eller rätta REDIS_URL och försök igen."
                )
        try:
            dispatch = dispatch_create(
                issue=issue,
                segment_slugs=options["segment"],
                scheduled_at=scheduled_at,
                actor=command_line("send_issue"),
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        except BrokerError as error:
            # The broker went away between the look above and the hand-over: the dispatch is
            # planned and sending, and the sweeper hands it to the workers once it is back.
            raise CommandError(
                f"Utskicket är skapat, men kön ({broker_url_masked()}) tog inte emot det: "
                f"{str(error).rstrip('.')}. Arbetarna börjar när kön svarar igen (svepet, "
                "SWEEP_INTERVAL_SECONDS); följ det med dispatch_status."
            ) from error
        dispatch.refresh_from_db()
        segments = ", ".join(options["segment"]) or "alla segment"
        if dispatch.status == DispatchStatus.PLANNED:
            self.stdout.write(
                f"Utskick {dispatch.pk} av {issue.slug} till {segments} schemalagt till "
                f"{time_shown(scheduled_at)}."
            )
            return
        self.stdout.write(
            f"Utskick {dispatch.pk} av {issue.slug} till {segments}: "
            f"{dispatch.planned_count} mottagare."
        )
        if options["wait"]:
            self._wait(dispatch, options)

    def _dry_run(self, issue: Issue, segment_slugs: list[str], scheduled_at) -> None:
        if scheduled_at is not None:
            try:
                schedule_check(scheduled_at)
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from error
        try:
            preview = dispatch_preview(issue=issue, segment_slugs=segment_slugs)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        for line in preview.lines():
            self.stdout.write(line)
        if scheduled_at is not None:
            self.stdout.write(f"Schemalagt till: {time_shown(scheduled_at)}")
        self.stdout.write("Provkörning: ingenting har skapats eller skickats.")

    def _test_send(self, issue: Issue, emails: list[str]) -> None:
        try:
            results = dispatch_test_send(
                issue=issue, emails=emails, actor=command_line("send_issue --test")
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        for result in results:
            mark = "ok" if result.ok else "FEL"
            self.stdout.write(f"{mark} {result.email}: {result.reply}")
        if not all(result.ok for result in results):
            raise CommandError("Testutskicket nådde inte alla adresser.")

    def _wait(self, dispatch, options) -> None:
        progress = DispatchWatch(
            stdout=self.stdout,
            stderr=self.stderr,
            stall_seconds=options["stall_seconds"],
            interval=options["interval"],
        ).run(dispatch_id=dispatch.pk)
        if status := watch_exit_status(progress):
            sys.exit(status)
