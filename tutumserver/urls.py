from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from apps.accounts.views import AuthView
from apps.applications.views import ApplicationViewSet
from apps.containers.views import ContainerViewSet
from apps.images.urls import urlpatterns as image_urls

# Every route answers with or without its trailing slash: no redirect that would drop a POST body.
router = SimpleRouter(trailing_slash="/?")
router.register("application", ApplicationViewSet, basename="application")
router.register("container", ContainerViewSet, basename="container")

api_v1 = [
    path("auth/", AuthView.as_view(), name="auth"),
    path("auth", AuthView.as_view()),
    path("schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]), name="schema"),
    path("schema", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[])),
    *router.urls,
    *image_urls,
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("admin/", admin.site.urls),
]

handler404 = "apps.core.handlers.not_found"
handler500 = "apps.core.handlers.server_error"
