from django.urls import re_path

from obmin.monitoring import views

app_name = "monitoring"
urlpatterns = [
    re_path(r"^service/export/(?P<fmt>xml|json|txt)/(?P<code>[^/]+)/?$", views.export,
            name="export"),
]
