import django_filters

from apps.applications.choices import ApplicationState
from apps.core.filters import FilterSet, UuidPrefixFilter

from .choices import ContainerState
from .models import Container


class ContainerFilter(FilterSet):
    uuid = django_filters.UUIDFilter()
    uuid__startswith = UuidPrefixFilter(field_name="uuid")
    name = django_filters.CharFilter(field_name="application__name")
    unique_name = django_filters.CharFilter()
    state = django_filters.ChoiceFilter(choices=ContainerState.choices)
    application__uuid = django_filters.UUIDFilter()
    application__uuid__startswith = UuidPrefixFilter(field_name="application__uuid")
    application__name = django_filters.CharFilter()
    application__unique_name = django_filters.CharFilter()
    application__state = django_filters.ChoiceFilter(choices=ApplicationState.choices)

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
