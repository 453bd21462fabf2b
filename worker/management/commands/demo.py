"""The demo: seed → compose → render → send → export, on whatever the environment configures.

Lives in `worker` because it is the one app allowed to use both `newsletter` and
`subscribers`.
"""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from newsletter.models import Issue
from worker.batches import tasks_run_in_process
from worker.selectors import dispatch_progress
from worker.services import dispatch_create
from worker.transport import transport_make

DEMO_ISSUE_SLUG = "2018-1"


def demo_issue() -> Issue | None:
    try:
        from newsletter.demo import demo_issue_ensure
    except ImportError:
        return Issue.objects.filter(slug=DEMO_ISSUE_SLUG).first()
    return demo_issue_ensure()


class Command(BaseCommand):
    help = "Kör demon: demodata, nummer, rendering, utskick och tryckexport."

    def handle(self, *args, **options) -> None:
        call_command("seed_demo", stdout=self.stdout, stderr=self.stderr)
        issue = demo_issue()
        if issue is None:
            self.stdout.write(f"Inget demonummer {DEMO_ISSUE_SLUG}; hoppar över utskicket.")
        else:
            self._send(issue)
        # Next step, added by its feature: export the demo issue's print list.

    def _send(self, issue: Issue) -> None:
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
                f"Celery-arbetarna ({settings.REDIS_URL}) för {where}. "
                f"Följ det med: python manage.py dispatch_status {dispatch.pk}"
            )
            return
        progress = dispatch_progress(dispatch=dispatch)
        self.stdout.write(
            f"Utskick {dispatch.pk}: {issue} till alla segment – {progress.sent} skickade, "
            f"{progress.failed} misslyckade, {progress.skipped} överhoppade, till {where}."
        )
