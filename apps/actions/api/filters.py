"""Filters of the action list and of a service's triggers, as the final clients send them."""

import re
from datetime import UTC
from email.utils import parsedate_to_datetime

import django_filters
from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError

from apps.containers.models import Container
from apps.core.filters import FilterSet, UuidPrefixFilter
from apps.core.uris import container_uri, service_uri, stack_uri
from apps.services.models import Service

from ..choices import ActionState
from ..models import Action, Trigger


class Rfc2822OrIsoDateTimeField(forms.Field):
    """A datetime as the API prints it (`Mon, 13 Oct 2014 11:01:43 +0000`) or in ISO 8601; naive is UTC."""

    default_error_messages = {"invalid": "Expected a date as 'Mon, 13 Oct 2014 11:01:43 +0000' or ISO 8601."}

    def to_python(self, value):
        if value in (None, ""):
            return None
        parsed = parse_datetime(value.replace(" ", "T", 1)) if value[:1].isdigit() else None
        if parsed is None:
            try:
                parsed = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if timezone.is_naive(parsed):
            parsed = parsed.replace(tzinfo=UTC)
        # In UTC: Postgres refuses offsets beyond 15:59 that Python takes (up to 24 hours).
        try:
            return parsed.astimezone(UTC)
        except OverflowError:  # past the year 9999 once in UTC
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class DateTimeFilter(django_filters.Filter):
    field_class = Rfc2822OrIsoDateTimeField


URI = re.compile(r"^/api/v1/(?P<kind>service|application|container|stack)/(?P<uuid>[0-9a-fA-F-]{36})/?$")
TRUE, FALSE = ("true", "1"), ("false", "0", "")


def related_uris(uri: str) -> list[str]:
    """The URIs whose actions `include_related=true` adds to an object's: a service's containers and stack,
    a container's service and stack, a stack's services and their containers."""
    match = URI.match(uri)
    if match is None:
        return [uri]
    kind, uuid = match["kind"], match["uuid"].lower()
    if kind in ("service", "application"):
        services = Service.objects.filter(uuid=uuid)
    elif kind == "container":
        services = Service.objects.filter(containers__uuid=uuid)
    else:
        services = Service.objects.filter(stack__uuid=uuid)
    rows = list(services.values_list("uuid", "stack__uuid"))
    containers = Container.objects.filter(service__in=services).values_list("uuid", flat=True)
    uris = {service_uri(uuid) if kind == "application" else uri}
    uris.update(service_uri(service) for service, _ in rows)
    uris.update(stack_uri(stack) for _, stack in rows if stack)
    if kind != "container":
        uris.update(container_uri(container) for container in containers)
    return sorted(uris)


def _include_related(value) -> bool:
    value = str(value).lower()
    if value not in TRUE + FALSE:
        raise ValidationError({"include_related": [f"Expected true or false, got {value!r}."]})
    return value in TRUE


class ObjectFilter(django_filters.CharFilter):
    """`object=<resource URI>`; with `include_related=true` also the actions of its related objects."""

    def filter(self, qs, value):
        if not value:
            return qs
        if _include_related(self.parent.data.get("include_related", "")):
            return qs.filter(object__in=related_uris(value))
        return qs.filter(object=value)


class IncludeRelatedFilter(django_filters.CharFilter):
    def filter(self, qs, value):
        _include_related(value or "")  # checked here, applied by ObjectFilter
        return qs


class ActionFilter(FilterSet):
    uuid = django_filters.UUIDFilter()
    uuid__startswith = UuidPrefixFilter(field_name="uuid")
    state = django_filters.ChoiceFilter(choices=ActionState.choices)
    object = ObjectFilter()
    include_related = IncludeRelatedFilter(help_text="With `object`: also the actions of its related objects.")
    action = django_filters.CharFilter()
    start_date__gte = DateTimeFilter(field_name="start_date", lookup_expr="gte")
    start_date__lte = DateTimeFilter(field_name="start_date", lookup_expr="lte")
    end_date__gte = DateTimeFilter(field_name="end_date", lookup_expr="gte")
    end_date__lte = DateTimeFilter(field_name="end_date", lookup_expr="lte")

    class Meta:
        model = Action
        fields = [
            "uuid",
            "uuid__startswith",
            "state",
            "object",
            "action",
            "start_date__gte",
            "start_date__lte",
            "end_date__gte",
            "end_date__lte",
            "include_related",
        ]


class TriggerFilter(FilterSet):
    uuid = django_filters.UUIDFilter()
    uuid__startswith = UuidPrefixFilter(field_name="uuid")
    name = django_filters.CharFilter()

    class Meta:
        model = Trigger
        fields = ["uuid", "uuid__startswith", "name"]
