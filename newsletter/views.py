from django.http import HttpRequest, HttpResponse


def issue(request: HttpRequest, issue_slug: str) -> HttpResponse:
    raise NotImplementedError("web archive: issue 4")


def article(request: HttpRequest, issue_slug: str, article_slug: str) -> HttpResponse:
    raise NotImplementedError("article permalinks: issue 4")
