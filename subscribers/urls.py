from django.urls import path

from . import privacy_views, views

app_name = "subscribers"
urlpatterns = [
    path("prenumerera/", views.subscribe, name="subscribe"),
    path("prenumerera/tack/", views.subscribe_done, name="subscribe_done"),
    path("prenumerera/bekrafta/<str:token>/", views.confirm, name="confirm"),
    # The preference and unsubscribe URLs are in every message sent: never change their shape.
    path("prenumeration/<str:token>/", views.preferences, name="preferences"),
    path(
        "prenumeration/<str:token>/mina-uppgifter/",
        privacy_views.privacy_request,
        name="privacy_request",
    ),
    # The old download and erase URLs, on preference pages still open somewhere: they lead
    # to the request page and do nothing themselves.
    path(
        "prenumeration/<str:token>/mina-uppgifter.<str:file_format>",
        privacy_views.export_moved,
        name="export",
    ),
    path("prenumeration/<str:token>/radera/", privacy_views.erase_moved, name="erase"),
    path("mina-uppgifter/<str:token>/", privacy_views.privacy_link, name="privacy_link"),
    path("avregistrera/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("integritet/", views.privacy_notice, name="privacy"),
    path("tillganglighet/", views.accessibility_statement, name="accessibility"),
]
