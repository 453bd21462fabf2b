from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from worker.models import Dispatch
from worker.services import (
    dispatch_cancel,
    dispatch_pause,
    dispatch_resend,
    dispatch_resume,
    dispatch_start,
)

ACTIONS = {
    "pause": lambda dispatch: dispatch_pause(dispatch=dispatch),
    "resume": lambda dispatch: dispatch_resume(dispatch=dispatch),
    "cancel": lambda dispatch: dispatch_cancel(dispatch=dispatch),
    "start": lambda dispatch: dispatch_start(dispatch=dispatch),
    "resend": lambda dispatch: dispatch_resend(dispatch=dispatch),
}


class Command(BaseCommand):
    help = (
        "Styr ett utskick: pause, resume, cancel, start (ett schemalagt eller väntande) "
        "eller resend (en avsiktlig ny omgång till samma segment)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("dispatch_id", type=int, metavar="DISPATCH_ID")
        parser.add_argument("action", choices=sorted(ACTIONS))

    def handle(self, *args, **options) -> None:
        dispatch = Dispatch.objects.filter(pk=options["dispatch_id"]).first()
        if dispatch is None:
            raise CommandError(f"Inget utskick med id {options['dispatch_id']}.")
        try:
            result = ACTIONS[options["action"]](dispatch)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(
            f"Utskick {result.pk}: {result.get_status_display()}. {result.status_reason}".strip()
        )
