from django.urls import path

from leadrelay.handoff import views

app_name = "handoff"
urlpatterns = [
    path("handoffs/", views.inbox, name="inbox"),
    path("handoffs/mine/", views.mine, name="mine"),
    path("handoffs/settings/", views.settings_view, name="settings"),
    path("handoffs/meeting/", views.meeting, name="meeting"),
    path("handoffs/meeting.csv", views.meeting_csv, name="meeting_csv"),
    path("handoffs/new/<int:lead_id>/", views.request_handoff, name="request"),
    path("handoffs/<int:handoff_id>/", views.detail, name="detail"),
    path("handoffs/<int:handoff_id>/approve/", views.approve, name="approve"),
    path("handoffs/<int:handoff_id>/reject/", views.reject, name="reject"),
    path("handoffs/<int:handoff_id>/accept/", views.accept, name="accept"),
    path("handoffs/<int:handoff_id>/return/", views.return_, name="return"),
    path("handoffs/<int:handoff_id>/cancel/", views.cancel, name="cancel"),
]
