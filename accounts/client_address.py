"""The address a login attempt comes from, as the lockout counts it.

Behind a reverse proxy every request comes from the proxy's REMOTE_ADDR: counting that would
lock everyone out after five typos anywhere. CLIENT_IP_META_KEY (from RATELIMIT_IP_META_KEY,
the header the sign-up rate limit also trusts) names the header the proxy sets instead.
Without a proxy it stays REMOTE_ADDR: a header sent by the client itself is never believed,
or an attacker would name a new address with every guess.
"""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    value = request.META.get(settings.CLIENT_IP_META_KEY) or request.META.get("REMOTE_ADDR")
    if not value:
        return None
    # X-Forwarded-For lists every hop; only the last one was added by our own proxy, the
    # ones before it are whatever the client sent.
    return value.split(",")[-1].strip() or None
