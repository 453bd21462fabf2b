from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path(
        "personal/rapport/utskick/<int:dispatch_id>/",
        views.dispatch_report_page,
        name="dispatch_report",
    ),
    path(
        "personal/rapport/utskick/<int:dispatch_id>/<str:table>.csv",
        views.dispatch_report_csv,
        name="dispatch_report_csv",
    ),
    path("personal/rapport/<slug:issue_slug>/", views.issue_report_page, name="issue_report"),
    path(
        "personal/rapport/<slug:issue_slug>/<str:table>.csv",
        views.issue_report_csv,
        name="issue_report_csv",
    ),
    path("personal/listvard/", views.list_hygiene_page, name="list_hygiene"),
]
