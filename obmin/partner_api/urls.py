from django.urls import path

from obmin.partner_api import views

app_name = "partner_api"
urlpatterns = [
    path("service/partner/api.php", views.api, name="api"),
    path("service/partner/openapi.json", views.openapi, name="openapi"),
    path("partners/api/", views.documentation, name="docs"),
]
