from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from leadrelay.core import selectors, services
from leadrelay.core import panels
from leadrelay.org.models import Role

NOTIFICATIONS_PER_PAGE = 30


@login_required
def home(request):
    labels = dict(Role.choices)
    roles = [labels[r] for r in sorted(request.user.role_set) if r in labels]
    return render(request, "core/home.html", {
        "roles": roles, "panels": panels.render_list("home", request=request, record=request.user),
    })


def health(request):
    """Liveness for load balancers: the process answers and the database is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _changed(response: HttpResponse) -> HttpResponse:
    """Tell the header's bell to refresh its count."""
    response.headers["HX-Trigger"] = "notifications-changed"
    return response


@login_required
def notifications(request):
    unread_only = request.GET.get("unread") == "1"
    page = Paginator(selectors.notifications_for(request.user, unread_only=unread_only), NOTIFICATIONS_PER_PAGE)
    page_obj = page.get_page(request.GET.get("page"))
    return render(request, "core/notifications.html", {
        "page_obj": page_obj, "unread_only": unread_only,
        "unread_count": selectors.unread_notification_count(request.user),
    })


@login_required
@require_POST
def notification_read(request, notification_id: int):
    notification = selectors.notification_get_for(request.user, notification_id)
    services.notification_mark_read(user=request.user, notification_ids=[notification.pk])
    if _is_htmx(request):
        notification.refresh_from_db()
        return _changed(render(request, "core/_notification.html", {"n": notification}))
    return redirect("notifications")


@login_required
@require_POST
def notifications_read_all(request):
    services.notification_mark_read(user=request.user)
    return redirect("notifications")


@login_required
def notification_open(request, notification_id: int):
    """Follow a notification's link, marking it read on the way."""
    notification = selectors.notification_get_for(request.user, notification_id)
    services.notification_mark_read(user=request.user, notification_ids=[notification.pk])
    url = notification.url
    if not url or not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                                      require_https=request.is_secure()):
        return redirect("notifications")
    return redirect(url)


@login_required
def notification_badge(request):
    """The bell's count, refreshed by HTMX."""
    count = selectors.unread_notification_count(request.user)
    return render(request, "core/_bell.html", {"unread_notifications": count})
