from django.urls import path

from leadrelay.audit import views

app_name = "audit"

urlpatterns = [
    path("audit/", views.audit_log, name="log"),
    path("audit/export.csv", views.audit_export, name="export"),
    path("audit/retention/", views.retention, name="retention"),
    path("audit/retention/<int:site_id>/", views.retention_set, name="retention_set"),
]
