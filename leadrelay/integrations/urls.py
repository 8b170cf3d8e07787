from django.urls import path

from leadrelay.integrations import views

app_name = "integrations"
urlpatterns = [
    path("integrations/imports/", views.imports, name="imports"),
    path("integrations/imports/uploads/<int:upload_id>/mapping/", views.import_mapping, name="import_mapping"),
    path("integrations/imports/jobs/<int:job_id>/", views.import_job, name="import_job"),
    path("integrations/imports/jobs/<int:job_id>/progress/", views.import_job_progress, name="import_job_progress"),
    path("integrations/imports/jobs/<int:job_id>/run/", views.import_job_run, name="import_job_run"),
    path("integrations/imports/jobs/<int:job_id>/errors.csv", views.import_job_errors, name="import_job_errors"),
    path("exports/<slug:kind>.<slug:fmt>", views.export, name="export"),
    path("integrations/exports/", views.export_log, name="export_log"),
    path("integrations/webhooks/", views.webhooks, name="webhooks"),
    path("integrations/webhooks/new/", views.webhook_create, name="webhook_create"),
    path("integrations/webhooks/<int:subscription_id>/", views.webhook_detail, name="webhook_detail"),
    path("integrations/webhooks/<int:subscription_id>/secret/", views.webhook_rotate_secret,
         name="webhook_rotate_secret"),
    path("integrations/webhooks/<int:subscription_id>/ping/", views.webhook_ping, name="webhook_ping"),
    path("integrations/webhooks/<int:subscription_id>/delete/", views.webhook_delete, name="webhook_delete"),
    path("integrations/webhooks/deliveries/", views.webhook_deliveries, name="webhook_deliveries"),
    path("integrations/webhooks/deliveries/<int:delivery_id>/", views.webhook_delivery, name="webhook_delivery"),
    path("integrations/webhooks/deliveries/<int:delivery_id>/replay/", views.webhook_delivery_replay,
         name="webhook_delivery_replay"),
]
