from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from audit.services import command_line
from worker.emergency import dispatches_emergency_resume, dispatches_emergency_stop
from worker.models import Dispatch
from worker.preview import resend_preview
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
ALL_ACTIONS = ("pause", "resume")


class Command(BaseCommand):
    help = (
        "Styr ett utskick: DISPATCH_ID pause, resume, cancel, start (ett schemalagt eller "
        "väntande) eller resend (en avsiktlig ny omgång till samma segment). "
        "Nödstopp: --all pause pausar alla utskick som skickas, --all resume återupptar dem."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "words",
            nargs="+",
            metavar="DISPATCH_ID ACTION | ACTION",
            help="Ett utskicks id och en åtgärd, eller med --all bara pause eller resume.",
        )
        parser.add_argument(
            "--yes",
            action="store_true",
            help="Bekräfta en ny omgång (resend): utan den visas bara hur många som får numret "
            "igen.",
        )
        parser.add_argument(
            "--all",
            action="store_true",
            help="Nödstopp: alla utskick som skickas (pause), eller de som nödstoppet pausade "
            "(resume).",
        )

    def handle(self, *args, **options) -> None:
        words = options["words"]
        if options["all"]:
            self._all(words)
            return
        if len(words) != 2 or not words[0].isdigit() or words[1] not in ACTIONS:
            raise CommandError(
                "Ange ett utskicks id och en av "
                + ", ".join(sorted(ACTIONS))
                + " (eller --all pause / --all resume)."
            )
        dispatch = Dispatch.objects.filter(pk=int(words[0])).first()
        if dispatch is None:
            raise CommandError(f"Inget utskick med id {words[0]}.")
        if words[1] == "resend":
            # A second round mails people again: say how many, and send only when confirmed.
            try:
                preview = resend_preview(dispatch=dispatch)
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from error
            for line in preview.lines():
                self.stdout.write(line)
            if not options["yes"]:
                raise CommandError(
                    f"Ingen ny omgång skapad: {preview.second_time} personer skulle få numret "
                    "för andra gången. Kör igen med --yes för att skicka."
                )
        try:
            result = ACTIONS[words[1]](dispatch, command_line("dispatch_control"))
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(
            f"Utskick {result.pk}: {result.get_status_display()}. {result.status_reason}".strip()
        )

    def _all(self, words: list[str]) -> None:
        if len(words) != 1 or words[0] not in ALL_ACTIONS:
            raise CommandError("Med --all går bara pause eller resume.")
        actor = command_line(f"dispatch_control --all {words[0]}")
        if words[0] == "pause":
            paused = dispatches_emergency_stop(actor=actor)
            self.stdout.write(
                f"Nödstopp: {len(paused)} utskick pausade"
                + (f" ({', '.join(map(str, paused))})." if paused else ".")
            )
            scheduled = Dispatch.objects.filter(status="planned", scheduled_at__isnull=False)
            if scheduled.exists():
                ids = ", ".join(str(pk) for pk in scheduled.values_list("pk", flat=True))
                self.stdout.write(
                    f"Schemalagda utskick som inte har startat ({ids}) påverkas inte: avbryt "
                    "dem med DISPATCH_ID cancel om de inte ska gå."
                )
            return
        resumed = dispatches_emergency_resume(actor=actor)
        self.stdout.write(
            f"{len(resumed)} utskick återupptagna"
            + (f" ({', '.join(map(str, resumed))})." if resumed else ".")
        )
