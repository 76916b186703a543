from django.contrib import admin
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularJSONAPIView
from rest_framework.routers import SimpleRouter

from apps.accounts.views import AuthView
from apps.actions.api.urls import urlpatterns as trigger_urls
from apps.actions.api.views import ActionViewSet
from apps.containers.views import ContainerViewSet
from apps.images.urls import urlpatterns as image_urls
from apps.nodes.catalogue import urlpatterns as node_catalogue_urls
from apps.nodes.views import NodeClusterViewSet, NodeViewSet
from apps.services.api.views import ServiceViewSet
from apps.services.api_2014.views import ApplicationViewSet
from apps.stacks.api import StackViewSet

# Every route answers with or without its trailing slash: no redirect that would drop a POST body.
# (DRF turns any `trailing_slash` argument into "/" or "", so the optional slash is set afterwards.)
router = SimpleRouter()
router.trailing_slash = "/?"
router.register("action", ActionViewSet, basename="action")
router.register("application", ApplicationViewSet, basename="application")
router.register("service", ServiceViewSet, basename="service")
router.register("container", ContainerViewSet, basename="container")
router.register("node", NodeViewSet, basename="node")
router.register("nodecluster", NodeClusterViewSet, basename="nodecluster")
router.register("stack", StackViewSet, basename="stack")

api_v1 = [
    re_path(r"^auth/?$", AuthView.as_view(), name="auth"),
    # JSON, as every answer under /api/v1/ (the YAML default would not be).
    re_path(
        r"^schema/?$",
        SpectacularJSONAPIView.as_view(authentication_classes=[], permission_classes=[]),
        name="schema",
    ),
    *trigger_urls,
    *router.urls,
    *image_urls,
    *node_catalogue_urls,
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("admin/", admin.site.urls),
    # The dashboard's few vendored files, served by Django itself so the embedded mode needs no web server
    # in front (a deployment that has one may serve STATIC_ROOT, after collectstatic, instead).
    re_path(r"^static/(?P<path>.*)$", serve_static, {"insecure": True}),
    path("", include("apps.dashboard.urls")),
]

handler404 = "apps.core.handlers.not_found"
handler500 = "apps.core.handlers.server_error"
