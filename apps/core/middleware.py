from django.utils.cache import patch_vary_headers

from .uris import API_PREFIX


class ApiResponseHeadersMiddleware:
    """The caching headers every response of the spec's examples carries."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(API_PREFIX):
            response["Cache-Control"] = "must-revalidate, max-age=0"
            if "Vary" in response:
                del response["Vary"]
            patch_vary_headers(response, ("Accept", "Authorization", "Cookie"))
            if response.status_code == 204 or not response.get("Content-Type"):
                response["Content-Type"] = "application/json"
        return response
