from django.urls import path

from . import views

app_name = "printing"
urlpatterns = [
    # Staff: print distribution per issue. The paths are the ones they had under subscribers;
    # bookmarks and the README name them.
    path("personal/tryck/<slug:issue_slug>/", views.print_run_page, name="print_run"),
    path(
        "personal/tryck/<slug:issue_slug>/slutlig/",
        views.print_run_finalise_view,
        name="print_run_finalise",
    ),
    # The PDF edition as the printer's proof, also before the issue is published.
    path("personal/tryck/<slug:issue_slug>/korrektur.pdf", views.print_proof, name="print_proof"),
    path(
        "personal/tryck/<slug:issue_slug>/ladda-ner/<str:export_format>/",
        views.print_run_download,
        name="print_run_download",
    ),
]
