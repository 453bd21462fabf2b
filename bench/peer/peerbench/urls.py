# django-newsletter reverses its own URL names (unsubscribe link, archive) in every message.
from django.urls import include, path

urlpatterns = [path("newsletter/", include("newsletter.urls"))]
