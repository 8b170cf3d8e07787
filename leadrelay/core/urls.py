from django.urls import path

from leadrelay.core import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.health, name="health"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/badge/", views.notification_badge, name="notification_badge"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
    path("notifications/<int:notification_id>/read/", views.notification_read, name="notification_read"),
    path("notifications/<int:notification_id>/open/", views.notification_open, name="notification_open"),
]
