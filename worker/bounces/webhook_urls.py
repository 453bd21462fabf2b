"""django-anymail's webhook URLs, served only while a webhook secret is configured.

Anymail accepts a request without basic auth (with only a warning) when no WEBHOOK_SECRET
is set, so without one every webhook URL is a 404 here instead: no one can post a fake
bounce to an open endpoint. The check is made per request, from settings.ANYMAIL.
"""

import functools

from anymail import urls as anymail_urls
from django.conf import settings
from django.http import Http404
from django.urls import URLPattern


def _configured_only(view):
    @functools.wraps(view)
    def guarded(request, *args, **kwargs):
        if not getattr(settings, "ANYMAIL", {}).get("WEBHOOK_SECRET"):
            raise Http404("no webhook secret configured")
        return view(request, *args, **kwargs)

    return guarded


urlpatterns = [
    URLPattern(
        pattern.pattern, _configured_only(pattern.callback), pattern.default_args, pattern.name
    )
    for pattern in anymail_urls.urlpatterns
]
