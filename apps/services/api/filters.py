import re

import django_filters
from rest_framework.exceptions import ValidationError

from apps.core.filters import FilterSet, UuidPrefixFilter

from ..choices import ServiceState
from ..models import Service

STACK_URI = re.compile(r"^/api/v1/stack/(?P<uuid>[0-9a-fA-F-]{36})/?$")


class StackUriFilter(django_filters.CharFilter):
    """`stack=/api/v1/stack/<uuid>/`, as `tutum service ps --stack` sends it."""

    def filter(self, qs, value):
        if not value:
            return qs
        match = STACK_URI.match(value)
        if match is None:
            raise ValidationError({"stack": [f"{value!r} is not a stack resource URI."]})
        return qs.filter(stack__uuid=match["uuid"].lower())


class ServiceFilter(FilterSet):
    uuid = django_filters.UUIDFilter()
    uuid__startswith = UuidPrefixFilter(field_name="uuid")
    name = django_filters.CharFilter()
    state = django_filters.ChoiceFilter(choices=ServiceState.choices)
    stack = StackUriFilter()
    stack__name = django_filters.CharFilter(field_name="stack__name")

    class Meta:
        model = Service
        fields = ["uuid", "uuid__startswith", "name", "state", "stack", "stack__name"]
