from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from audit.services import command_line
from worker.models import Dispatch
from worker.services import (
    dispatch_cancel,
    dispatch_pause,
    dispatch_resend,
    dispatch_resume,
    dispatch_start,
)

ACTIONS = {
    "pause": lambda dispatch, actor: dispatch_pause(dispatch=dispatch, actor=actor),
    "resume": lambda dispatch, actor: dispatch_resume(dispatch=dispatch, actor=actor),
    "cancel": lambda dispatch, actor: dispatch_cancel(dispatch=dispatch, actor=actor),
    "start": lambda dispatch, actor: dispatch_start(dispatch=dispatch, actor=actor),
    "resend": lambda dispatch, actor: dispatch_resend(dispatch=dispatch, actor=actor),
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
            result = ACTIONS[options["action"]](dispatch, command_line("dispatch_control"))
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(
            f"Utskick {result.pk}: {result.get_status_display()}. {result.status_reason}".strip()
        )
