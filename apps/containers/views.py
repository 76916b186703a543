from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.logs import read_logs
from apps.core.params import REUSE_VOLUMES, reuse_volumes
from apps.core.schema import error_response
from apps.core.views import CachedListMixin, OwnedResourceViewSet
from apps.services.models import ServiceLink

from . import services
from .choices import ContainerState
from .filters import ContainerFilter
from .models import Container
from .serializers import ContainerDetailSerializer, ContainerSerializer


class ContainerViewSet(CachedListMixin, OwnedResourceViewSet):
    serializer_class = ContainerSerializer
    detail_serializer_class = ContainerDetailSerializer
    filterset_class = ContainerFilter
    http_method_names = ["get", "post", "delete", "head", "options"]

    def queryset_for(self, user):
        queryset = Container.objects.owned_by(user).select_related("service__owner", "node").with_port_list()
        if self.action == "list":
            return queryset.visible_in_lists()
        linked = Container.objects.exclude(state=ContainerState.TERMINATED).select_related("service__owner")
        return queryset.prefetch_related(
            "envvars",
            "service__linked_to",
            "service__linked_from",
            "service__bindings",
            Prefetch("service__links_out", queryset=ServiceLink.objects.select_related("to_service")),
            Prefetch("service__links_out__to_service__containers", queryset=linked.with_port_list()),
        )

    @extend_schema(request=None, responses={202: ContainerDetailSerializer})
    def destroy(self, request, uuid=None):
        return self.accepted(services.terminate_container(self.get_object()))

    @extend_schema(request=None, responses={202: ContainerDetailSerializer})
    @action(detail=True, methods=["post"])
    def start(self, request, uuid=None):
        return self.accepted(services.start_container(self.get_object()))

    @extend_schema(request=None, responses={202: ContainerDetailSerializer})
    @action(detail=True, methods=["post"])
    def stop(self, request, uuid=None):
        return self.accepted(services.stop_container(self.get_object()))

    @extend_schema(request=None, parameters=[REUSE_VOLUMES], responses={202: ContainerDetailSerializer})
    @action(detail=True, methods=["post"])
    def redeploy(self, request, uuid=None):
        """Replace the container by a new one of its service's current definition, under the same name."""
        reuse = reuse_volumes(request)
        return self.accepted(services.redeploy_container(self.get_object(), reuse_volumes=reuse))

    @extend_schema(
        responses={
            200: inline_serializer("ContainerLogs", {"logs": serializers.CharField()}),
            503: error_response("The container's node is unreachable."),
        }
    )
    @action(detail=True, methods=["get"])
    def logs(self, request, uuid=None):
        container = self.get_object()
        return Response({"logs": read_logs(container) if container.docker_id else ""})
