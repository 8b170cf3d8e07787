"""The application's URLs plus /bench/204: a view that does nothing, behind the same middleware."""

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from leadrelay.config.urls import urlpatterns as application_urlpatterns


@csrf_exempt
def no_content(request):
    """Answers any method with 204 and reads nothing: the most the server can do per second."""
    return HttpResponse(status=204)


urlpatterns = [path("bench/204", no_content), *application_urlpatterns]
