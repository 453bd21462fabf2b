from django.core.management.base import BaseCommand, CommandError

from worker.models import Dispatch
from worker.scheduling import time_shown
from worker.selectors import dispatch_progress

from ._progress import progress_line


class Command(BaseCommand):
    help = "Visa status för ett utskick, eller för de senaste utskicken."

    def add_arguments(self, parser) -> None:
        parser.add_argument("dispatch_id", nargs="?", type=int, metavar="DISPATCH_ID")

    def handle(self, *args, **options) -> None:
        if options["dispatch_id"] is not None:
            dispatch = (
                Dispatch.objects.select_related("issue").filter(pk=options["dispatch_id"]).first()
            )
            if dispatch is None:
                raise CommandError(f"Inget utskick med id {options['dispatch_id']}.")
            dispatches = [dispatch]
        else:
            dispatches = list(Dispatch.objects.select_related("issue")[:20])
            if not dispatches:
                self.stdout.write("Inga utskick ännu.")
        for dispatch in dispatches:
            when = time_shown(dispatch.scheduled_at or dispatch.created_at)
            self.stdout.write(f"{dispatch.pk}  {dispatch.issue.slug}  {when}")
            progress = dispatch_progress(dispatch=dispatch)
            self.stdout.write("    " + progress_line(progress))
            if progress.reason:
                self.stdout.write("    " + progress.reason)
