"""Build the peer's data: N subscriptions and one submission of the bench message, queued."""

import sys
from datetime import timedelta

from django.contrib.sites.models import Site
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone

from newsletter.models import Article, Message, Newsletter, Submission, Subscription


class Command(BaseCommand):
    help = "Create N subscriptions and a prepared submission of the bench message."

    def add_arguments(self, parser):
        parser.add_argument("--n", type=int, required=True)
        parser.add_argument("--repo", required=True, help="the lansnytt checkout")

    @transaction.atomic
    def handle(self, *args, n, repo, **options):
        # The harness's shared content module lives in the lansnytt checkout; it imports
        # neither Django settings nor lansnytt, so the peer can use it as it is.
        sys.path.insert(0, repo)
        from bench.content import bench_articles

        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE newsletter_submission_subscriptions, newsletter_submission,"
                " newsletter_article, newsletter_message, newsletter_subscription,"
                " newsletter_newsletter_site, newsletter_newsletter RESTART IDENTITY CASCADE"
            )
        Site.objects.update_or_create(
            pk=1, defaults={"domain": "lansnytt.example.org", "name": "Länsnytt"}
        )
        newsletter = Newsletter.objects.create(
            title="Länsnytt", slug="lansnytt", email="lansnytt@example.org", sender="Länsnytt"
        )
        newsletter.site.set([1])
        now = timezone.now()
        Subscription.objects.bulk_create(
            (
                Subscription(
                    newsletter=newsletter,
                    name_field=f"Prenumerant {number}",
                    email_field=f"prenumerant{number}@bench.invalid",
                    subscribed=True,
                    subscribe_date=now,
                )
                for number in range(1, n + 1)
            ),
            batch_size=5000,
        )
        message = Message.objects.create(
            title="Länsnytt bench-1: nytt från biblioteken i länet",
            slug="bench-1",
            newsletter=newsletter,
        )
        for position, article in enumerate(bench_articles(), start=1):
            text = f"<p><strong>{article.lead}</strong></p>\n" + "\n".join(
                f"<p>{paragraph}</p>" for paragraph in article.paragraphs
            )
            Article.objects.create(
                post=message,
                sortorder=position * 10,
                title=article.heading,
                text=text,
                url=article.url,
            )
        submission = Submission.from_message(message)
        submission.publish_date = now - timedelta(minutes=1)
        submission.prepared = True
        submission.save()
        self.stdout.write(f"{submission.subscriptions.count()} subscriptions queued")
