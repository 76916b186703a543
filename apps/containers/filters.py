import django_filters

from apps.core.filters import FilterSet, UuidPrefixFilter
from apps.services.choices import ServiceState

from .choices import ContainerState
from .models import Container


class ContainerFilter(FilterSet):
    uuid = django_filters.UUIDFilter()
    uuid__startswith = UuidPrefixFilter(field_name="uuid")
    name = django_filters.CharFilter(field_name="service__name")
    unique_name = django_filters.CharFilter()
    state = django_filters.ChoiceFilter(choices=ContainerState.choices)
    application__uuid = django_filters.UUIDFilter(field_name="service__uuid")
    application__uuid__startswith = UuidPrefixFilter(field_name="service__uuid")
    application__name = django_filters.CharFilter(field_name="service__name")
    application__unique_name = django_filters.CharFilter(field_name="service__unique_name")
    application__state = django_filters.ChoiceFilter(field_name="service__state", choices=ServiceState.choices)

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
        ]
