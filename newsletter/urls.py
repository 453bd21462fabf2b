from django.urls import path

from . import views

app_name = "newsletter"
urlpatterns = [
    path("arkiv/<slug:issue_slug>/", views.issue, name="issue"),
    path("arkiv/<slug:issue_slug>/<slug:article_slug>/", views.article, name="article"),
]
