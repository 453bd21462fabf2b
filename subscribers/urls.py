
app_name = "subscribers"
urlpatterns: list = []
