from django.urls import path

from obmin.twofactor import views

app_name = "twofactor"
urlpatterns = [
    path("", views.setup, name="setup"),
    path("app/", views.setup_confirm, name="setup_confirm"),
    path("recovery-codes/", views.recovery_shown, name="recovery_shown"),
    path("recovery-codes/new/", views.recovery_regenerate, name="recovery_regenerate"),
    path("off/", views.disable, name="disable"),
    path("verify/", views.verify, name="verify"),
    path("confirm/", views.reverify, name="reverify"),
]
