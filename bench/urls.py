"""The real URLconf plus two bench-only ceilings: the cheapest DRF answers the same server can give."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from tutumserver.urls import handler404, handler500  # noqa: F401
from tutumserver.urls import urlpatterns as real_urlpatterns

STATIC_BODY = {"meta": {"limit": 25, "next": None, "offset": 0, "previous": None, "total_count": 0}, "objects": []}


class CeilingView(APIView):
    """A static body, no authentication: what Django + DRF + the middleware cost by themselves."""

    authentication_classes = []
    permission_classes = []

    def get(self, request):
        return Response(STATIC_BODY)


class AuthenticatedCeilingView(APIView):
    """A static body behind the API's own key check: the ceiling plus authentication."""

    def get(self, request):
        return Response(STATIC_BODY)


urlpatterns = [
    path("bench/ceiling/", CeilingView.as_view()),
    path("bench/ceiling-auth/", AuthenticatedCeilingView.as_view()),
    *real_urlpatterns,
]
