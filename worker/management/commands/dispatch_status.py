import sys

from django.core.management.base import BaseCommand, CommandError

from worker.models import Dispatch
from worker.scheduling import time_shown
from worker.selectors import dispatch_progress

from ._progress import DispatchWatch, progress_line, watch_arguments_add, watch_exit_status


class Command(BaseCommand):
    help = (
        "Visa status för ett utskick, eller för de senaste utskicken; med --wait följs "
        "utskicket tills det är klart."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("dispatch_id", nargs="?", type=int, metavar="DISPATCH_ID")
        parser.add_argument(
            "--wait",
            "--follow",
            action="store_true",
            dest="wait",
            help="Följ utskicket (förlopp, takt, tid kvar) tills det är klart eller pausat.",
        )
        watch_arguments_add(parser)

    def handle(self, *args, **options) -> None:
        if options["wait"] and options["dispatch_id"] is None:
            raise CommandError("--wait/--follow behöver ett DISPATCH_ID.")
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
            if options["wait"]:
                break
            progress = dispatch_progress(dispatch=dispatch)
            self.stdout.write("    " + progress_line(progress))
            if progress.reason:
                self.stdout.write("    " + progress.reason)
        if options["wait"]:
            progress = DispatchWatch(
                stdout=self.stdout,
                stderr=self.stderr,
                stall_seconds=options["stall_seconds"],
                interval=options["interval"],
            ).run(dispatch_id=dispatches[0].pk)
            if status := watch_exit_status(progress):
                sys.exit(status)
