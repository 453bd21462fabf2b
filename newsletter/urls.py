from django.contrib.sitemaps.views import sitemap
from django.urls import path

from . import views
from .feeds import ArchiveFeed, json_feed
from .sitemaps import SITEMAPS

app_name = "newsletter"
urlpatterns = [
    path("arkiv/", views.archive, name="archive"),
    # Before the issue route: "feed" is reserved and cannot be an issue slug (Issue.clean).
    path("arkiv/feed/", ArchiveFeed(), name="feed"),
    path("arkiv/feed.json", json_feed, name="json_feed"),
    path("arkiv/<slug:issue_slug>/", views.issue, name="issue"),
    # The PDF edition; "lansnytt-<issue>.pdf" keeps the file's name when it is saved.
    path(
        "arkiv/<slug:issue_slug>/lansnytt-<slug:edition_slug>.pdf",
        views.issue_pdf,
        name="issue_pdf",
    ),
    path("arkiv/<slug:issue_slug>/<slug:article_slug>/", views.article, name="article"),
    path(
        "arkiv/<slug:issue_slug>/<slug:article_slug>/delningsbild.png",
        views.article_share_card,
        name="article_share_card",
    ),
    path(
        "arkiv/<slug:issue_slug>/<slug:article_slug>/dela-pa-mastodon/",
        views.article_share_mastodon,
        name="article_share_mastodon",
    ),
    # The counting redirect of article links in issues that count clicks (engagement.py).
    path("lank/<str:token>/", views.tracked_link, name="tracked_link"),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
]
