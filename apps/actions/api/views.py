from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.views import OwnedResourceViewSet
from apps.services.choices import ServiceState
from apps.services.models import Service

from .. import services
from ..models import Action, Trigger
from .filters import ActionFilter, TriggerFilter
from .serializers import ActionSerializer, TriggerCreateSerializer, TriggerSerializer


class ActionViewSet(OwnedResourceViewSet):
    """/api/v1/action/: the account's actions, newest first."""

    serializer_class = ActionSerializer
    filterset_class = ActionFilter
    http_method_names = ["get", "post", "head", "options"]

    def queryset_for(self, user):
        return Action.objects.owned_by(user)

    @extend_schema(request=None, responses={200: ActionSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, uuid=None):
        return Response(ActionSerializer(services.cancel_action(self.get_object())).data)

    @extend_schema(request=None, responses={202: ActionSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request, uuid=None):
        retried = services.retry_action(self.get_object())
        return Response(ActionSerializer(retried).data, status=status.HTTP_202_ACCEPTED)


class TriggerViewSet(mixins.DestroyModelMixin, OwnedResourceViewSet):
    """/api/v1/service/<uuid>/trigger/: a service's triggers. Another user's service is a 404."""

    serializer_class = TriggerSerializer
    filterset_class = TriggerFilter
    http_method_names = ["get", "post", "delete", "head", "options"]

    def service(self) -> Service:
        return get_object_or_404(Service.objects.owned_by(self.request.user), uuid=self.kwargs["service_uuid"])

    def queryset_for(self, user):
        service_uuid = self.kwargs.get("service_uuid")
        return Trigger.objects.filter(service__owner=user, service__uuid=service_uuid).select_related("service")

    def list(self, request, *args, **kwargs):
        self.service()  # an unknown service is a 404, not an empty list
        return super().list(request, *args, **kwargs)

    @extend_schema(request=TriggerCreateSerializer, responses={201: TriggerSerializer})
    def create(self, request, service_uuid=None):
        service = self.service()
        serializer = TriggerCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        trigger = services.create_trigger(service, **serializer.validated_data)
        return Response(TriggerSerializer(trigger).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.delete_trigger(instance)


class TriggerCallView(APIView):
    """POST /api/v1/service/<uuid>/trigger/<uuid>/call/[<n>/]: no credentials; the trigger's uuid is the
    secret. Answers 202 with the action it recorded (never the service: the caller proved nothing else)."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(operation_id="service_trigger_call", request=None, responses={202: ActionSerializer})
    def post(self, request, service_uuid, uuid, count=None):
        trigger = get_object_or_404(
            Trigger.objects.select_related("service").exclude(service__state=ServiceState.TERMINATED),
            uuid=uuid,
            service__uuid=service_uuid,
        )
        if count is not None and int(count) < 1:
            raise ValidationError({"count": [f"Expected a number of containers of at least 1, got {count}."]})
        recorded = services.call_trigger(trigger, int(count) if count is not None else 1)
        return Response(ActionSerializer(recorded).data, status=status.HTTP_202_ACCEPTED)


class TriggerCallCountView(TriggerCallView):
    """POST …/call/<n>/: a SCALEUP trigger adds n containers (a REDEPLOY trigger ignores n)."""

    @extend_schema(
        operation_id="service_trigger_call_count",
        request=None,
        parameters=[OpenApiParameter("count", int, OpenApiParameter.PATH, description="At least 1.")],
        responses={202: ActionSerializer},
    )
    def post(self, request, service_uuid, uuid, count=None):
        return super().post(request, service_uuid, uuid, count)
