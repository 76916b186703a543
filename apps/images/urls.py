"""Routes by name: an image name holds slashes and a registry host may carry a port, so the tag route is
tried first and the name pattern is non-greedy before an optional trailing slash."""

from django.urls import re_path

from .views import ImageTagView, ImageViewSet, RegistryViewSet

TAG = r"[\w][\w.-]{0,127}"

image_list = ImageViewSet.as_view({"get": "list", "post": "create"})
image_detail = ImageViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"})
image_tag = ImageTagView.as_view({"get": "retrieve"})
registry_list = RegistryViewSet.as_view({"get": "list"})
registry_detail = RegistryViewSet.as_view({"get": "retrieve"})

urlpatterns = [
    re_path(r"^image/?$", image_list, name="image-list"),
    re_path(rf"^image/(?P<name>.+?)/tag/(?P<tag>{TAG})/?$", image_tag, name="image-tag"),
    re_path(r"^image/(?P<name>.+?)/?$", image_detail, name="image-detail"),
    re_path(r"^registry/?$", registry_list, name="registry-list"),
    re_path(r"^registry/(?P<host>[^/]+?)/?$", registry_detail, name="registry-detail"),
]
