"""/api/v1/stack/ in the 2015 shape: `tutum service ps` and `container ps` list the stacks to name the
services' and containers' stacks, `stack list` and `stack inspect` show them. The writes (create, PATCH,
start, stop, redeploy, DELETE, export) are in api_actions.py."""

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from apps.core.fields import Rfc2822DateTimeField
from apps.core.filters import FilterSet, UuidPrefixFilter
from apps.core.serializers import ReadSerializer
from apps.core.uris import service_uri, stack_uri
from apps.core.views import OwnedResourceViewSet
from apps.services.choices import ServiceState
from apps.services.models import Service

from .api_actions import StackWriteMixin
from .choices import StackState
from .models import Stack


class StackSerializer(ReadSerializer):
    """Reads `live_services`: the stack's services not terminated, prefetched."""

    uuid = serializers.UUIDField()
    resource_uri = serializers.SerializerMethodField()
    name = serializers.CharField()
    nickname = serializers.CharField()
    state = serializers.ChoiceField(choices=StackState.choices)
    synchronized = serializers.SerializerMethodField()
    services = serializers.SerializerMethodField()
    deployed_datetime = Rfc2822DateTimeField()
    destroyed_datetime = Rfc2822DateTimeField()

    def get_resource_uri(self, stack) -> str:
        return stack_uri(stack.uuid)

    def get_synchronized(self, stack) -> bool:
        """Every service runs its current definition (an empty stack is synchronized)."""
        return all(service.synchronized for service in stack.live_services)

    def get_services(self, stack) -> list[str]:
        return [service_uri(service.uuid) for service in stack.live_services]


class StackFilter(FilterSet):
    uuid = django_filters.UUIDFilter()
    uuid__startswith = UuidPrefixFilter(field_name="uuid")
    name = django_filters.CharFilter()
    state = django_filters.ChoiceFilter(choices=StackState.choices)

    class Meta:
        model = Stack
        fields = ["uuid", "uuid__startswith", "name", "state"]


# The writes of api_actions.py answer 202 with the stack (create 201, PATCH 200, as drf-spectacular assumes).
_ACCEPTED = extend_schema(responses={202: StackSerializer})


@extend_schema_view(destroy=_ACCEPTED, start=_ACCEPTED, stop=_ACCEPTED, redeploy=_ACCEPTED)
class StackViewSet(StackWriteMixin, OwnedResourceViewSet):
    serializer_class = StackSerializer
    filterset_class = StackFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def queryset_for(self, user):
        services = Service.objects.exclude(state=ServiceState.TERMINATED).only("uuid", "synchronized", "stack_id")
        queryset = Stack.objects.owned_by(user).prefetch_related(
            Prefetch("services", queryset=services, to_attr="live_services")
        )
        return queryset.visible_in_lists() if self.action == "list" else queryset
