from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.containers.models import Container
from apps.core.logs import read_logs
from apps.core.schema import error_response
from apps.core.views import CachedListMixin, OwnedResourceViewSet

from .. import services
from .filters import ApplicationFilter
from .serializers import (
    ApplicationCreateSerializer,
    ApplicationDetailSerializer,
    ApplicationSerializer,
    ApplicationUpdateSerializer,
    RedeploySerializer,
)

LogsSerializer = inline_serializer("Logs", {"logs": serializers.CharField()})


class ApplicationViewSet(CachedListMixin, OwnedResourceViewSet):
    serializer_class = ApplicationSerializer
    detail_serializer_class = ApplicationDetailSerializer
    filterset_class = ApplicationFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def queryset_for(self, user):
        # Through the user's related manager every row's `owner` is `user` itself, without a join.
        queryset = user.services.with_counts().with_port_list()
        if self.action == "list":
            return queryset.visible_in_lists()
        return queryset.prefetch_related(
            "envvars",
            "linked_to",
            "linked_from",
            Prefetch("containers", queryset=Container.objects.select_related("service__owner").with_port_list()),
        )

    def _validated(self, serializer_class, **context):
        serializer = serializer_class(data=self.request.data, context={"request": self.request, **context})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(request=ApplicationCreateSerializer, responses={202: ApplicationDetailSerializer})
    def create(self, request):
        data = dict(self._validated(ApplicationCreateSerializer))
        # 2014 links carry no alias: their variables are named after each linked container.
        data["linked_to"] = [(target, "") for target in data.pop("linked_to_application")]
        service = services.create_service(request.user, data)
        return self.accepted(service)

    @extend_schema(request=ApplicationUpdateSerializer, responses={202: ApplicationDetailSerializer})
    def partial_update(self, request, uuid=None):
        service = self.get_object()
        data = self._validated(ApplicationUpdateSerializer, service=service)
        return self.accepted(services.update_service(service, dict(data)))

    @extend_schema(request=None, responses={202: ApplicationDetailSerializer})
    def destroy(self, request, uuid=None):
        return self.accepted(services.terminate_service(self.get_object()))

    @extend_schema(request=None, responses={202: ApplicationDetailSerializer})
    @action(detail=True, methods=["post"])
    def start(self, request, uuid=None):
        return self.accepted(services.start_service(self.get_object()))

    @extend_schema(request=None, responses={202: ApplicationDetailSerializer})
    @action(detail=True, methods=["post"])
    def stop(self, request, uuid=None):
        return self.accepted(services.stop_service(self.get_object()))

    @extend_schema(request=RedeploySerializer, responses={202: ApplicationDetailSerializer})
    @action(detail=True, methods=["post"])
    def redeploy(self, request, uuid=None):
        data = self._validated(RedeploySerializer)
        return self.accepted(services.redeploy_service(self.get_object(), data.get("tag")))

    @extend_schema(responses={200: LogsSerializer, 503: error_response("A node of its containers is unreachable.")})
    @action(detail=True, methods=["get"])
    def logs(self, request, uuid=None):
        service = self.get_object()
        containers = service.containers.exclude(docker_id="").select_related("node").order_by("number")
        chunks = []
        for container in containers:
            text = read_logs(container)
            chunks.extend(f"{container.unique_name} | {line}" for line in text.splitlines())
        return Response({"logs": "\n".join(chunks)}, status=status.HTTP_200_OK)
