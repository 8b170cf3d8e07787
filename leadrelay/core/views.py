from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from leadrelay.org.models import Role


@login_required
def home(request):
    labels = dict(Role.choices)
    roles = [labels[r] for r in sorted(request.user.role_set) if r in labels]
    return render(request, "core/home.html", {"roles": roles})


def health(request):
    """Liveness for load balancers: the process answers and the database is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
