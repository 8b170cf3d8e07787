from django.urls import path

from leadrelay.kpi import views

app_name = "kpi"

urlpatterns = [
    path("kpis/", views.dashboard, name="dashboard"),
    path("kpis/me/", views.me, name="me"),
    path("kpis/trends/", views.trends, name="trends"),
    path("kpis/funnel/", views.funnel, name="funnel"),
    path("kpis/targets/", views.targets, name="targets"),
]
