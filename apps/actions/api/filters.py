"""Filters of the action list and of a service's triggers, as the final clients send them."""

from datetime import UTC
from email.utils import parsedate_to_datetime

import django_filters
from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.core.filters import FilterSet, UuidPrefixFilter

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
        return parsed


class DateTimeFilter(django_filters.Filter):
    field_class = Rfc2822OrIsoDateTimeField


class ActionFilter(FilterSet):
    uuid = django_filters.UUIDFilter()
    uuid__startswith = UuidPrefixFilter(field_name="uuid")
    state = django_filters.ChoiceFilter(choices=ActionState.choices)
    object = django_filters.CharFilter()
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
        ]


class TriggerFilter(FilterSet):
    uuid = django_filters.UUIDFilter()
    uuid__startswith = UuidPrefixFilter(field_name="uuid")
    name = django_filters.CharFilter()

    class Meta:
        model = Trigger
        fields = ["uuid", "uuid__startswith", "name"]
