from django.contrib.sitemaps.views import sitemap
from django.urls import path

from . import views
from .feeds import ArchiveFeed
from .sitemaps import SITEMAPS

app_name = "newsletter"
urlpatterns = [
    path("arkiv/", views.archive, name="archive"),
    # Before the issue route: "feed" is reserved and cannot be an issue slug (Issue.clean).
    path("arkiv/feed/", ArchiveFeed(), name="feed"),
    path("arkiv/<slug:issue_slug>/", views.issue, name="issue"),
    path("arkiv/<slug:issue_slug>/<slug:article_slug>/", views.article, name="article"),
    # The counting redirect of article links in issues that count clicks (engagement.py).
    path("lank/<str:token>/", views.tracked_link, name="tracked_link"),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
]
