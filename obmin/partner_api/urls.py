
app_name = "partner_api"
urlpatterns: list = []
