"""Images are addressed by name (slashes and `host:port` included), registries by host.

The catalogue is read-only to users: add, update and delete act on their own private images only.
"""

from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from apps.core.images import HOST_PATTERN, REPOSITORY_PATTERN, TAG_PATTERN
from apps.core.schema import error_response

from . import services
from .filters import ImageFilter, RegistryFilter
from .models import Image, ImageTag, Registry
from .serializers import (
    ImageCreateSerializer,
    ImageDetailSerializer,
    ImageSerializer,
    ImageTagSerializer,
    ImageUpdateSerializer,
    RegistrySerializer,
)

# Image names hold slashes (`tutum/hello-world`, `127.0.0.1:5000/team/app`) and go into the path as they are.
NAME = OpenApiParameter(
    "name",
    str,
    OpenApiParameter.PATH,
    pattern=REPOSITORY_PATTERN,
    description="The image's name, slashes and registry host included.",
    examples=[OpenApiExample("Docker Hub", value="tutum/hello-world")],
)
TAG = OpenApiParameter("tag", str, OpenApiParameter.PATH, pattern=TAG_PATTERN)
HOST = OpenApiParameter("host", str, OpenApiParameter.PATH, pattern=HOST_PATTERN, description="`host[:port]`")
REGISTRY_CHECK_UNAVAILABLE = error_response("No Docker node is reachable to check the credentials with the registry.")
# `<name>/tag/<tag>` is the tag's path, which only answers GET: an image whose name ends so cannot be changed.
TAG_PATH = error_response("The name ends in `/tag/<tag>`: that is a tag's path, which answers GET only.")


def _with_tags(queryset):
    return queryset.select_related("registry").prefetch_related(
        Prefetch("tags", queryset=ImageTag.objects.select_related("image"))
    )


@extend_schema_view(
    retrieve=extend_schema(parameters=[NAME]),
    partial_update=extend_schema(parameters=[NAME]),
    destroy=extend_schema(parameters=[NAME]),
)
class ImageViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = ImageSerializer
    filterset_class = ImageFilter
    lookup_field = "name"

    def get_queryset(self):
        return _with_tags(Image.objects.listed_for(self.request.user))

    def get_object(self) -> Image:
        image = Image.objects.named(self.kwargs["name"], self.request.user)
        if image is None:
            raise Http404
        return image

    def _detail(self, image: Image, status_code=status.HTTP_200_OK) -> Response:
        fresh = _with_tags(Image.objects.filter(pk=image.pk)).get()
        return Response(ImageDetailSerializer(fresh).data, status=status_code)

    def _validated(self, serializer_class, **context):
        serializer = serializer_class(data=self.request.data, context={"request": self.request, **context})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(responses={200: ImageDetailSerializer})
    def retrieve(self, request, name=None):
        return self._detail(self.get_object())

    @extend_schema(
        request=ImageCreateSerializer, responses={202: ImageDetailSerializer, 503: REGISTRY_CHECK_UNAVAILABLE}
    )
    def create(self, request):
        image = services.add_private_image(request.user, self._validated(ImageCreateSerializer))
        return self._detail(image, status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=ImageUpdateSerializer,
        responses={202: ImageDetailSerializer, 405: TAG_PATH, 503: REGISTRY_CHECK_UNAVAILABLE},
    )
    def partial_update(self, request, name=None):
        image = self.get_object()
        data = self._validated(ImageUpdateSerializer, image=image)
        return self._detail(services.update_private_image(image, dict(data)), status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={204: None, 405: TAG_PATH})
    def destroy(self, request, name=None):
        services.delete_private_image(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ImageTagView(viewsets.GenericViewSet):
    serializer_class = ImageTagSerializer

    @extend_schema(parameters=[NAME, TAG])
    def retrieve(self, request, name=None, tag=None):
        image = Image.objects.named(name, request.user)
        found = image and ImageTag.objects.select_related("image").filter(image=image, name=tag).first()
        if not found:
            raise Http404
        return Response(ImageTagSerializer(found).data)


@extend_schema_view(retrieve=extend_schema(parameters=[HOST]))
class RegistryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Registries of the images a user can see (catalogue, own, used by their applications)."""

    serializer_class = RegistrySerializer
    filterset_class = RegistryFilter
    lookup_field = "host"

    def get_queryset(self):
        visible = Image.objects.readable_by(self.request.user).values("registry_id")
        return Registry.objects.filter(pk__in=visible).order_by("host")
