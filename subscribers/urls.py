from django.urls import path

from . import views

app_name = "subscribers"
urlpatterns = [
    path("prenumerera/", views.subscribe, name="subscribe"),
    path("prenumerera/tack/", views.subscribe_done, name="subscribe_done"),
    path("prenumerera/bekrafta/<str:token>/", views.confirm, name="confirm"),
    # The preference and unsubscribe URLs are in every message sent: never change their shape.
    path("prenumeration/<str:token>/", views.preferences, name="preferences"),
    path(
        "prenumeration/<str:token>/mina-uppgifter.<str:file_format>",
        views.export,
        name="export",
    ),
    path("prenumeration/<str:token>/radera/", views.erase, name="erase"),
    path("avregistrera/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("integritet/", views.privacy_notice, name="privacy"),
    path("tillganglighet/", views.accessibility_statement, name="accessibility"),
]
