
app_name = "newsletter"
urlpatterns: list = []
