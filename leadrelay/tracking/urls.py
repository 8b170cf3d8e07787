from django.urls import path

from leadrelay.tracking import views

app_name = "tracking"
urlpatterns = [
    # The public edge: the snippet, the collect endpoint and embedded forms.
    path("t.js", views.snippet_js, name="snippet"),
    path("collect", views.collect, name="collect"),
    path("f/<str:key>/", views.form_page, name="form_page"),
    path("f/<str:key>/submit", views.form_submit_json, name="form_submit_json"),
    # Marketing screens.
    path("tracking/sites/", views.site_list, name="site_list"),
    path("tracking/sites/new/", views.site_create, name="site_create"),
    path("tracking/sites/<int:site_id>/", views.site_detail, name="site_detail"),
    path("tracking/sites/<int:site_id>/edit/", views.site_edit, name="site_edit"),
    path("tracking/sites/<int:site_id>/rotate-key/", views.site_rotate_key, name="site_rotate_key"),
    path("tracking/sites/<int:site_id>/forms/new/", views.form_create, name="form_create"),
    path("tracking/forms/<int:form_id>/edit/", views.form_edit, name="form_edit"),
    path("tracking/webinars/", views.webinar_list, name="webinar_list"),
    path("tracking/webinars/new/", views.webinar_create, name="webinar_create"),
    path("tracking/webinars/<int:webinar_id>/", views.webinar_detail, name="webinar_detail"),
    path("tracking/leads/<int:lead_id>/export/", views.lead_export, name="lead_export"),
    path("tracking/leads/<int:lead_id>/erase/", views.lead_erase, name="lead_erase"),
]
