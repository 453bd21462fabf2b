"""Export an issue's print list for the printer and the mailing house.

Exits with status 2 when recipients have no valid address, unless --allow-incomplete.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from audit.services import command_line
from lansnytt.generated_files import PRINT_EXPORTS, generated_dir
from newsletter.models import Issue
from printing.exports import (
    FORMATS,
    export_filename,
    print_list_export,
    total_summary,
)
from printing.lists import PrintList
from printing.runs import print_list_for_export
from subscribers.selectors import UnknownSegment


class Command(BaseCommand):
    help = (
        "Exporterar ett nummers tryckfördelning (CSV, XLSX eller adressetiketter som PDF). "
        "Använder den slutliga upplagan om en finns, annars ett utkast."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("issue_slug", metavar="ISSUE_SLUG", help="T.ex. 2018-1")
        parser.add_argument("--format", required=True, choices=FORMATS, dest="export_format")
        parser.add_argument(
            "-o",
            "--output",
            help="Fil att skriva; standard var/print/lansnytt-<nummer>-tryck-<källa>.<format>.",
        )
        parser.add_argument(
            "--segment",
            action="append",
            default=[],
            metavar="SLUG",
            help="Bara mottagare i detta segment (kan upprepas). Extrarader tas alltid med.",
        )
        parser.add_argument(
            "--draft",
            action="store_true",
            help="Exportera ett utkast beräknat nu även om en slutlig upplaga finns.",
        )
        parser.add_argument(
            "--allow-incomplete",
            action="store_true",
            help="Avsluta med status 0 även när mottagare saknar giltig adress.",
        )

    def handle(self, *args, issue_slug: str, export_format: str, **options) -> None:
        issue = Issue.objects.filter(slug=issue_slug).first()
        if issue is None:
            raise CommandError(_("Inget nummer med kortnamnet %(slug)s.") % {"slug": issue_slug})
        try:
            print_list = print_list_for_export(
                issue=issue, segment_slugs=options["segment"], draft=options["draft"]
            )
        except UnknownSegment as error:
            raise CommandError(str(error)) from error

        path = Path(
            options["output"]
            or generated_dir(PRINT_EXPORTS) / export_filename(print_list, export_format)
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        content = print_list_export(print_list, export_format, actor=command_line("export_print"))
        # Write whole or not at all: a half-written list must never reach the mailing house.
        partial = path.with_name(f".{path.name}.partial")
        partial.write_bytes(content)
        partial.replace(path)

        self.stdout.write(
            _("Skrev %(path)s (%(format)s, %(size)d byte)")
            % {"path": path, "format": export_format, "size": len(content)}
        )
        verbose = options["verbosity"] >= 1
        if verbose:
            self._summary_write(print_list)
        if print_list.to_fix:
            self._to_fix_write(print_list, listed=verbose or not options["allow_incomplete"])
            if not options["allow_incomplete"]:
                raise CommandError(
                    _(
                        "%(count)d mottagare saknar giltig adress och finns inte i listan. "
                        "Rätta dem eller kör med --allow-incomplete."
                    )
                    % {"count": len(print_list.to_fix)},
                    returncode=2,
                )

    def _summary_write(self, print_list: PrintList) -> None:
        self.stdout.write(
            _("Nummer: %(issue)s (%(slug)s)")
            % {"issue": print_list.issue, "slug": print_list.issue.slug}
        )
        self.stdout.write(_("Källa: %(source)s") % {"source": print_list.source_description})
        if print_list.segment_slugs:
            self.stdout.write(
                _("Segment: %(slugs)s") % {"slugs": ", ".join(print_list.segment_slugs)}
            )
        self.stdout.write(total_summary(print_list))
        for dimension, heading in (
            ("kind", _("Per organisationstyp")),
            ("municipality", _("Per kommun")),
            ("region", _("Per region")),
            ("segment", _("Per segment (kan överlappa)")),
        ):
            self.stdout.write(f"{heading}:")
            for total in print_list.totals_by(dimension):
                lines = ngettext("%(count)d rad", "%(count)d rader", total.lines) % {
                    "count": total.lines
                }
                self.stdout.write(f"  {total.label}: {lines}, {total.copies} ex.")
        if print_list.protected_excluded:
            self.stdout.write(
                ngettext(
                    "%(count)d person med skyddad identitet är undantagen och hanteras manuellt.",
                    "%(count)d personer med skyddad identitet är undantagna och hanteras manuellt.",
                    print_list.protected_excluded,
                )
                % {"count": print_list.protected_excluded}
            )

    def _to_fix_write(self, print_list: PrintList, *, listed: bool) -> None:
        self.stderr.write(_("Att åtgärda (%(count)d):") % {"count": len(print_list.to_fix)})
        if not listed:
            return
        for line in print_list.to_fix:
            who = ", ".join(text for text in (line.name, line.organisation) if text)
            self.stderr.write(f"  {line.recipient_key} {who}: {line.problem}")
