from django.urls import re_path

from obmin.monitoring import views

app_name = "monitoring"
urlpatterns = [
    re_path(r"^service/export/(?P<fmt>xml|json|txt)/(?P<code>[^/]+)/?$", views.export,
            name="export"),
    # Premium Exchanger's default export addresses (contract 4b).
    re_path(r"^request-export(?P<fmt>xml)\.xml$", views.default_export,
            name="default_export_xml"),
    re_path(r"^request-export(?P<fmt>txt)\.txt$", views.default_export,
            name="default_export_txt"),
]
