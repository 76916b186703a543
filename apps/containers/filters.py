import re

import django_filters
from django import forms
from django.db.models import Q

from apps.core.filters import FilterSet, UuidPrefixFilter
from apps.services.choices import ServiceState

from .choices import ContainerState
from .models import Container


class ResourceUriField(forms.CharField):
    """A resource URI of one kind (`/api/v1/service/<uuid>/`, with or without the host or the last slash),
    cleaned to its uuid; anything else is a 400 naming the filter."""

    def __init__(self, *args, kinds: tuple[str, ...], **kwargs):
        self.pattern = re.compile(
            rf"^(?:https?://[^/]+)?/api/v1/(?:{'|'.join(kinds)})/"
            r"(?P<uuid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})/?$"
        )
        self.kind = kinds[0]
        super().__init__(*args, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        match = self.pattern.match(value)
        if match is None:
            raise forms.ValidationError(f"Expected a {self.kind} resource URI (/api/v1/{self.kind}/<uuid>/).")
        return match["uuid"].lower()


class ResourceUriFilter(django_filters.Filter):
    """`?service=/api/v1/service/<uuid>/`: the final clients filter by the URI they read from an object."""

    field_class = ResourceUriField

    def __init__(self, *args, kinds: tuple[str, ...], **kwargs):
        super().__init__(*args, kinds=kinds, **kwargs)


class NameFilter(django_filters.CharFilter):
    """A container's name is its service's (2014, kept), and the final CLI finds container `web-1` by
    `?name=web-1`: the filter matches either."""

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(Q(service__name=value) | Q(unique_name=value))


class ContainerFilter(FilterSet):
    uuid = django_filters.UUIDFilter()
    uuid__startswith = UuidPrefixFilter(field_name="uuid")
    name = NameFilter()
    unique_name = django_filters.CharFilter()
    state = django_filters.ChoiceFilter(choices=ContainerState.choices)
    # 2014
    application__uuid = django_filters.UUIDFilter(field_name="service__uuid")
    application__uuid__startswith = UuidPrefixFilter(field_name="service__uuid")
    application__name = django_filters.CharFilter(field_name="service__name")
    application__unique_name = django_filters.CharFilter(field_name="service__unique_name")
    application__state = django_filters.ChoiceFilter(field_name="service__state", choices=ServiceState.choices)
    # 2015
    service = ResourceUriFilter(field_name="service__uuid", kinds=("service", "application"))
    node = ResourceUriFilter(field_name="node__uuid", kinds=("node",))
    service__stack__name = django_filters.CharFilter()

    class Meta:
        model = Container
        fields = [
            "uuid",
            "uuid__startswith",
            "name",
            "unique_name",
            "state",
            "application__uuid",
            "application__uuid__startswith",
            "application__name",
            "application__unique_name",
            "application__state",
            "service",
            "node",
            "service__stack__name",
        ]
