from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Länsnytt"
admin.site.site_title = "Länsnytt"
admin.site.index_title = "Regionbibliotek Stockholm"

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # Providers' bounce and complaint webhooks (django-anymail), e.g. /anymail/mailgun/tracking/.
    path("anymail/", include("worker.bounces.webhook_urls")),
    # Single sign-on (accounts/sso/); its views answer 404 while OIDC_* is not configured.
    # The redirect URI to register at the provider is SITE_URL + /oidc/callback/.
    path("oidc/", include("accounts.sso.urls")),
    path("", include("accounts.twofactor.urls")),
    path("", include("subscribers.urls")),
    path("", include("printing.urls")),
    path("", include("reports.urls")),
    path("", include("newsletter.urls")),
    path("", include("api.urls")),
]

# SuspiciousOperation and the like: our own 400 page, which never quotes the request.
handler400 = "lansnytt.errors.bad_request_handler"

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
