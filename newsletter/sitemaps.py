from django.contrib.sitemaps import Sitemap
from django.db.models import QuerySet
from django.urls import reverse

from . import selectors
from .models import Article, Issue


class ArchiveSitemap(Sitemap):
    changefreq = "monthly"

    def items(self) -> list[str]:
        return ["newsletter:archive"]

    def location(self, item: str) -> str:
        return reverse(item)


class IssueSitemap(Sitemap):
    changefreq = "yearly"

    def items(self) -> QuerySet[Issue]:
        return selectors.issues_published()

    def lastmod(self, item: Issue):
        return item.updated_at


class ArticleSitemap(Sitemap):
    changefreq = "yearly"

    def items(self) -> QuerySet[Article]:
        return selectors.articles_published()

    def lastmod(self, item: Article):
        return item.updated_at


SITEMAPS = {"archive": ArchiveSitemap, "issues": IssueSitemap, "articles": ArticleSitemap}
