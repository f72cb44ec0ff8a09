from django.urls import path, re_path

from obmin.partner_api import views
from obmin.partner_api.v1 import views as v1_views

app_name = "partner_api"
urlpatterns = [
    path("service/partner/api.php", views.api, name="api"),
    # The same API where Premium's documentation puts it (`/api.html?api_action=pp&...`).
    path("api.html", views.api, name="api_html"),
    path("service/partner/openapi.json", views.openapi, name="openapi"),
    path("partners/api/", views.documentation, name="docs"),
    # Premium Exchanger's API v1 (contract 4b); with or without a trailing slash.
    re_path(r"^api/userapi/v1/(?P<method>[^/]*)/?$", v1_views.endpoint, name="v1"),
]
