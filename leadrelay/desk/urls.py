from django.urls import path

from leadrelay.desk import views

app_name = "desk"
urlpatterns = [
    path("desk/", views.queue, name="queue"),
    path("desk/leads/<int:lead_id>/log/", views.log_activity, name="log"),
    path("desk/leads/<int:lead_id>/log/cancel/", views.log_cancel, name="log_cancel"),
    path("desk/follow-ups/<int:activity_id>/done/", views.follow_up_done, name="follow_up_done"),
    path("desk/accounts/", views.accounts, name="accounts"),
    path("desk/accounts/<int:account_id>/", views.account_detail, name="account"),
    path("desk/touches/<int:touch_id>/done/", views.touch_done, name="touch_done"),
    path("desk/touches/<int:touch_id>/delete/", views.touch_delete, name="touch_delete"),
]
