"""The demo: seed → compose → render → send → export, on whatever the environment configures.

Lives in `worker` because it is the one app allowed to use both `newsletter` and
`subscribers`. The last step runs printing's `export_print` command by name, as an operator
would, so worker does not import printing.
"""

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from lansnytt.generated_files import EDITIONS, PRINT_EXPORTS, RENDERINGS, generated_dir
from newsletter.approval import (
    approval_required,
    issue_approve,
    issue_current_version,
    issue_is_approved,
)
from newsletter.demo import demo_issue_ensure
from newsletter.models import Issue
from subscribers.demo import EDITOR_USERNAME
from worker.batches import tasks_run_in_process
from worker.broker import broker_url_masked
from worker.selectors import dispatch_progress
from worker.services import dispatch_create
from worker.transport import transport_make


class Command(BaseCommand):
    help = "Kör demon: demodata, nummer, rendering, utskick, PDF-utgåva och tryckexport."

    def handle(self, *args, **options) -> None:
        # seed_demo also composes the demo issue (newsletter.demo.demo_issue_ensure).
        call_command("seed_demo", stdout=self.stdout, stderr=self.stderr)
        issue = demo_issue_ensure()
        self._render(issue)
        self._send(issue)
        self._edition_export(issue)
        self._print_list_export(issue)

    def _render(self, issue: Issue) -> None:
        output = generated_dir(RENDERINGS) / f"{issue.slug}.html"
        call_command("render_issue", issue.slug, output=str(output), stdout=self.stdout)

    def _send(self, issue: Issue) -> None:
        self._approve(issue)
        dispatch = dispatch_create(issue=issue, segment_slugs=None)
        dispatch.refresh_from_db()
        where = transport_make().where
        if not dispatch.planned_count:
            self.stdout.write(
                f"Utskick {dispatch.pk}: {issue} har redan skickats till alla i segmenten; "
                "ingen fick det två gånger."
            )
            return
        if not tasks_run_in_process():
            self.stdout.write(
                f"Utskick {dispatch.pk}: {dispatch.planned_count} mottagare lämnade till "
                f"Celery-arbetarna ({broker_url_masked()}) för {where}. "
                f"Följ det med: python manage.py dispatch_status {dispatch.pk}"
            )
            return
        progress = dispatch_progress(dispatch=dispatch)
        self.stdout.write(
            f"Utskick {dispatch.pk}: {issue} till alla segment – {progress.sent} skickade, "
            f"{progress.failed} misslyckade, {progress.skipped} överhoppade, till {where}."
        )

    def _approve(self, issue: Issue) -> None:
        """The demo's editor approves the demo issue (made by seed_demo, not by them), so the
        demo also runs where the approval rule is on (newsletter.approval)."""
        if not approval_required():
            return
        version = issue_current_version(issue=issue)
        if issue_is_approved(issue=issue, version=version):
            return
        editor = get_user_model().objects.get(username=EDITOR_USERNAME)
        issue_approve(issue=issue, actor=editor, version=version)
        self.stdout.write(f"{issue} godkänt för utskick av {editor.get_username()}.")

    def _edition_export(self, issue: Issue) -> None:
        """The published issue's PDF edition and its legal deposit metadata, to var/edition/."""
        issue.refresh_from_db()
        if not issue.is_published:
            return  # sent by workers elsewhere: published when their first batch starts
        call_command(
            "legal_deposit_export",
            issue.slug,
            output=str(generated_dir(EDITIONS)),
            stdout=self.stdout,
            stderr=self.stderr,
        )

    def _print_list_export(self, issue: Issue) -> None:
        """Export the demo issue's print list to var/print/ and print its totals."""
        for export_format, verbosity in (("csv", 0), ("xlsx", 0), ("pdf", 1)):
            call_command(
                "export_print",
                issue.slug,
                export_format=export_format,
                output=str(
                    generated_dir(PRINT_EXPORTS) / f"lansnytt-{issue.slug}-tryck.{export_format}"
                ),
                allow_incomplete=True,
                verbosity=verbosity,
                stdout=self.stdout,
                stderr=self.stderr,
            )
