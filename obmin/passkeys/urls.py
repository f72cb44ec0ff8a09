from django.urls import path

from obmin.passkeys import views

app_name = "passkeys"
urlpatterns = [
    path("add/begin/", views.add_begin, name="add_begin"),
    path("add/complete/", views.add_complete, name="add_complete"),
    path("<int:passkey_id>/remove/", views.remove, name="remove"),
    path("use/begin/", views.use_begin, name="use_begin"),
    path("use/complete/", views.use_complete, name="use_complete"),
    path("use/continue/", views.resubmit, name="resubmit"),
]
