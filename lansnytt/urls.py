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
    path("", include("accounts.twofactor.urls")),
    path("", include("subscribers.urls")),
    path("", include("printing.urls")),
    path("", include("reports.urls")),
    path("", include("newsletter.urls")),
]

# SuspiciousOperation and the like: our own 400 page, which never quotes the request.
handler400 = "lansnytt.errors.bad_request_handler"

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
