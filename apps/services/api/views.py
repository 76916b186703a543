from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.containers.models import Container
from apps.core.params import REUSE_VOLUMES, reuse_volumes
from apps.core.views import CachedListMixin, OwnedResourceViewSet

from .. import services
from .filters import ServiceFilter
from .serializers import ServiceDetailSerializer, ServiceSerializer, ServiceWriteSerializer


class ServiceViewSet(CachedListMixin, OwnedResourceViewSet):
    """/api/v1/service/: the 2015 face of the services /api/v1/application/ shows in the 2014 shape."""

    serializer_class = ServiceSerializer
    detail_serializer_class = ServiceDetailSerializer
    filterset_class = ServiceFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def queryset_for(self, user):
        queryset = user.services.with_counts().with_port_list().select_related("stack")
        if self.action == "list":
            return queryset.visible_in_lists()
        return queryset.prefetch_related(
            "envvars",
            "links_out__to_service",
            "links_in__from_service",
            "bindings__volumes_from",
            Prefetch("containers", queryset=Container.objects.select_related("service__owner").with_port_list()),
        )

    def answer(self, service, code=status.HTTP_202_ACCEPTED) -> Response:
        fresh = self.get_queryset().get(pk=service.pk)
        return Response(ServiceDetailSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    def _validated(self, partial_update=False) -> dict:
        serializer = ServiceWriteSerializer(
            data=self.request.data, context=self.get_serializer_context(), partial_update=partial_update
        )
        serializer.is_valid(raise_exception=True)
        return serializer.service_data()

    @extend_schema(request=ServiceWriteSerializer, responses={201: ServiceDetailSerializer})
    def create(self, request):
        service = services.create_service(request.user, self._validated(), start=False)
        return self.answer(service, status.HTTP_201_CREATED)

    @extend_schema(request=ServiceWriteSerializer, responses={200: ServiceDetailSerializer})
    def partial_update(self, request, uuid=None):
        service = services.update_service(self.get_object(), self._validated(partial_update=True), scale=False)
        return self.answer(service, status.HTTP_200_OK)

    @extend_schema(request=None, responses={202: ServiceDetailSerializer})
    def destroy(self, request, uuid=None):
        return self.answer(services.terminate_service(self.get_object()))

    @extend_schema(request=None, responses={202: ServiceDetailSerializer})
    @action(detail=True, methods=["post"])
    def start(self, request, uuid=None):
        return self.answer(services.start_service(self.get_object()))

    @extend_schema(request=None, responses={202: ServiceDetailSerializer})
    @action(detail=True, methods=["post"])
    def stop(self, request, uuid=None):
        return self.answer(services.stop_service(self.get_object()))

    @extend_schema(request=None, responses={202: ServiceDetailSerializer})
    @action(detail=True, methods=["post"])
    def scale(self, request, uuid=None):
        return self.answer(services.scale_service(self.get_object()))

    @extend_schema(request=None, parameters=[REUSE_VOLUMES], responses={202: ServiceDetailSerializer})
    @action(detail=True, methods=["post"])
    def redeploy(self, request, uuid=None):
        reuse = reuse_volumes(request)
        return self.answer(services.redeploy_service(self.get_object(), reuse_volumes=reuse))
