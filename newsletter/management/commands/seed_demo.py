from django.core.management.base import BaseCommand

from newsletter.demo import demo_issue_ensure
from subscribers.demo import EDITOR_USERNAME, demo_seed


class Command(BaseCommand):
    help = (
        "Skapar demodata: folkbibliotek, regionbibliotek, politiker, partner, segment och "
        "ett redaktörskonto. Kan köras flera gånger; det som redan finns skapas inte igen."
    )

    def handle(self, *args, **options) -> None:
        result = demo_seed()
        counts = result.counts
        self.stdout.write(
            f"Demo data: {counts['organisations']} organisations, "
            f"{counts['subscribers']} subscribers, {counts['segments']} segments "
            f"(created now: {result.organisations_created} organisations, "
            f"{result.subscribers_created} subscribers, {result.segments_created} segments)."
        )
        issue = demo_issue_ensure()
        self.stdout.write(
            f"Demo issue: {issue.title} ({issue.get_status_display()}, "
            f"{issue.articles.count()} articles, slug {issue.slug})."
        )
        if result.editor_password:
            self.stdout.write(
                f"Editor account created: username {EDITOR_USERNAME}, "
                f"password {result.editor_password}  (shown only this once)"
            )
        else:
            self.stdout.write(
                f"Editor account {EDITOR_USERNAME} already exists; set a new password with "
                f"`python manage.py changepassword {EDITOR_USERNAME}`."
            )
        self.stdout.write(
            "Open the admin: run `python manage.py runserver`, then go to "
            "http://localhost:8000/admin/ and log in as the editor."
        )
