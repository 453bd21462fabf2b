from django.urls import path

from . import print_views, views

app_name = "subscribers"
urlpatterns = [
    # Placeholders until the self-service pages exist; the URL shapes are the public interface.
    path("prenumeration/<str:token>/", views.preferences, name="preferences"),
    path("avregistrera/<str:token>/", views.unsubscribe, name="unsubscribe"),
    # Staff: print distribution per issue.
    path("personal/tryck/<slug:issue_slug>/", print_views.print_run_page, name="print_run"),
    path(
        "personal/tryck/<slug:issue_slug>/slutlig/",
        print_views.print_run_finalise_view,
        name="print_run_finalise",
    ),
    path(
        "personal/tryck/<slug:issue_slug>/ladda-ner/<str:export_format>/",
        print_views.print_run_download,
        name="print_run_download",
    ),
]
