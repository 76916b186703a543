"""The writing half of /api/v1/stack/ (the reading half, shapes and filters are in api.py): create from a
stack file, PATCH with a new one, start/, stop/, redeploy/, DELETE and export/. Each calls one use case of
services.py; a stack file that cannot be read is a 400 under `services` naming the service and the key."""

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.core.fields import json_type
from apps.core.params import REUSE_VOLUMES, reuse_volumes
from apps.services.models import Service, ServiceBinding, ServiceLink

from . import services as stack_cases
from .stackfile import StackFileError, export_service

BODY_KEYS = ("name", "nickname", "services")


class StackWriteSerializer(serializers.Serializer):
    """The body's shape, for the schema only: the view checks it (`_body`) and the stack file's reader
    checks `services`."""

    name = serializers.CharField(max_length=64)
    nickname = serializers.CharField(required=False, allow_blank=True, max_length=255)
    services = serializers.ListField(child=serializers.DictField(), help_text="Stack-file services with a name.")


def _body(data, required: tuple[str, ...]) -> dict:
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": [f"Expected an object, got {json_type(data)}."]})
    errors = {key: ["Not a stack field (name, nickname, services)."] for key in sorted(set(data) - set(BODY_KEYS))}
    for key in required:
        if key not in data:
            errors[key] = ["This field is required."]
    for key in ("name", "nickname"):
        if key in data and not isinstance(data[key], str):
            errors[key] = [f"Expected a string, got {json_type(data[key])}."]
    if "nickname" in data and isinstance(data["nickname"], str) and len(data["nickname"]) > 255:
        errors["nickname"] = ["Ensure this field has no more than 255 characters."]
    if "services" in data and not isinstance(data["services"], list | dict):
        got = json_type(data["services"])
        errors["services"] = [f"Expected a list of services (or a map of names to them), got {got}."]
    if errors:
        raise ValidationError(errors)
    return data


class StackWriteMixin:
    """Mixed into StackViewSet (api.py)."""

    def answer(self, stack, code=status.HTTP_202_ACCEPTED) -> Response:
        fresh = self.get_queryset().get(pk=stack.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    @extend_schema(request=StackWriteSerializer)
    def create(self, request):
        data = _body(request.data, ("name", "services"))
        try:
            stack = stack_cases.create_stack(
                request.user, data["name"], data["services"], nickname=data.get("nickname", "")
            )
        except StackFileError as exc:
            raise ValidationError({"services": exc.errors}) from None
        return self.answer(stack, status.HTTP_201_CREATED)

    @extend_schema(request=StackWriteSerializer)
    def partial_update(self, request, uuid=None):
        data = _body(request.data, ())
        try:
            stack = stack_cases.update_stack(
                self.get_object(), data.get("services"), name=data.get("name"), nickname=data.get("nickname")
            )
        except StackFileError as exc:
            raise ValidationError({"services": exc.errors}) from None
        return self.answer(stack, status.HTTP_200_OK)

    @extend_schema(request=None)
    def destroy(self, request, uuid=None):
        return self.answer(stack_cases.terminate_stack(self.get_object()))

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def start(self, request, uuid=None):
        return self.answer(stack_cases.start_stack(self.get_object()))

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def stop(self, request, uuid=None):
        return self.answer(stack_cases.stop_stack(self.get_object()))

    @extend_schema(request=None, parameters=[REUSE_VOLUMES])
    @action(detail=True, methods=["post"])
    def redeploy(self, request, uuid=None):
        reuse = reuse_volumes(request)
        return self.answer(stack_cases.redeploy_stack(self.get_object(), reuse_volumes=reuse))

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def export(self, request, uuid=None):
        """The stack file (`{"svc": {keys}}`) of the live services; sent back with PATCH it changes nothing."""
        stack = self.get_object()
        services = (
            Service.objects.filter(stack=stack)
            .exclude(state__in=stack_cases.GONE)
            .select_related("stack")
            .prefetch_related(
                "ports",
                "envvars",
                Prefetch("links_out", queryset=ServiceLink.objects.select_related("to_service__stack")),
                Prefetch("bindings", queryset=ServiceBinding.objects.select_related("volumes_from__stack")),
            )
            .order_by("id")
        )
        return Response({service.name: export_service(service, stack) for service in services})
