"""What the API answers, as pydantic schemas: the OpenAPI description is generated from these."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field


class Image(Schema):
    url: str = Field(description="Absolute URL of the image.")
    alt: str = Field(description="The image's alternative text, as the editor wrote it.")


class ArticleSummary(Schema):
    slug: str
    kicker: str
    title: str
    lead: str
    permalink: str
    image: Image | None
    channel: Literal["both", "web"] = Field(
        description="Where the article is published: both (web and email) or web (web only). "
        "Email-only articles are not in the API."
    )


class Article(ArticleSummary):
    issue: str = Field(description="The slug of the issue the article belongs to.")
    body_html: str = Field(description="The body as sanitised HTML (no scripts, no styles).")
    body_markdown: str = Field(description="The body as the editor wrote it, in Markdown.")
    image_credit: str
    language: str
    published: datetime
    updated: datetime


class IssueSummary(Schema):
    slug: str
    title: str
    year: int
    number: int
    permalink: str
    language: str
    published: datetime
    updated: datetime


class Issue(IssueSummary):
    subject: str
    intro: str
    cover_image: Image | None
    articles: list[ArticleSummary]


class IssuePage(Schema):
    count: int = Field(description="Published issues in all.")
    page: int
    pages: int
    next: str | None = Field(description="URL of the next page, if any.")
    previous: str | None
    results: list[IssueSummary]


class Problem(Schema):
    detail: str
