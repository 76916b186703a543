"""JSON answers for errors raised outside DRF views (unknown URLs, crashes)."""

from django.http import JsonResponse


def not_found(request, exception=None):
    return JsonResponse({"error": "Not found."}, status=404)


def server_error(request):
    return JsonResponse({"error": "Internal server error."}, status=500)
