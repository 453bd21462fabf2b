from django.http import HttpRequest, HttpResponse


def preferences(request: HttpRequest, token: str) -> HttpResponse:
    raise NotImplementedError("preference centre: issue 6")


def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    raise NotImplementedError("one-click unsubscribe: issue 6")
