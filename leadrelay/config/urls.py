"""Top-level URLs. Each app owns its URL prefixes in its own urls.py; the API collects each app's router."""

from django.contrib import admin
from django.urls import include, path

from leadrelay.core.api import build_api

api = build_api()

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("leadrelay.core.urls")),
    path("", include("leadrelay.org.urls")),
    path("", include("leadrelay.leads.urls")),
    path("", include("leadrelay.tracking.urls")),
    path("", include("leadrelay.scoring.urls")),
    path("", include("leadrelay.desk.urls")),
    path("", include("leadrelay.handoff.urls")),
    path("", include("leadrelay.sales.urls")),
    path("", include("leadrelay.kpi.urls")),
    path("", include("leadrelay.enablement.urls")),
    path("", include("leadrelay.recruiting.urls")),
    path("", include("leadrelay.integrations.urls")),
    path("", include("leadrelay.audit.urls")),
]
