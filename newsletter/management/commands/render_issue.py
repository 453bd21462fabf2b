"""render_issue ISSUE_SLUG [--language sv|en] [-o PATH]: render an issue's email and time it."""

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from newsletter.models import Issue
from newsletter.rendering import RenderingError, issue_render


class Command(BaseCommand):
    help = "Renderar ett nummers e-post (MJML → HTML → inbäddad CSS) och skriver HTML:en."

    def add_arguments(self, parser) -> None:
        parser.add_argument("issue_slug", metavar="ISSUE_SLUG", help="T.ex. 2018-1")
        parser.add_argument(
            "--language", choices=[code for code, _name in settings.LANGUAGES], default=None
        )
        parser.add_argument(
            "-o", "--output", metavar="PATH", help="Skriv HTML:en hit (annars till stdout)."
        )

    def handle(self, *args, issue_slug: str, language: str | None, output: str | None, **options):
        issue = Issue.objects.filter(slug=issue_slug).first()
        if issue is None:
            raise CommandError(f"Inget nummer med kortnamnet {issue_slug!r}.")
        started = time.perf_counter()
        try:
            rendered = issue_render(issue=issue, language=language)
        except RenderingError as error:
            raise CommandError(str(error)) from error
        seconds = time.perf_counter() - started
        if output:
            path = Path(output)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(rendered.html, encoding="utf-8")
            path.with_suffix(".txt").write_text(rendered.text, encoding="utf-8")
            where = f"{path} (+ {path.with_suffix('.txt').name})"
        else:
            self.stdout.write(rendered.html)
            where = "stdout"
        # The timing goes to stderr when the HTML goes to stdout, so the HTML stays clean.
        report = self.stderr if not output else self.stdout
        report.write(
            f"{issue} ({rendered.language}, version {rendered.version[:12]}): "
            f"{len(rendered.html.encode()) // 1024} KiB HTML → {where} in {seconds:.3f} s"
        )
