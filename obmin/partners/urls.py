from django.urls import path

from obmin.partners import views

app_name = "partners"
urlpatterns = [
    path("ref/<str:code>/", views.ref, name="ref"),
]
