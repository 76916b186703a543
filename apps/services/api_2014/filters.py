import django_filters

from apps.core.filters import FilterSet, UuidPrefixFilter

from ..choices import ServiceState
from ..models import Service


class ApplicationFilter(FilterSet):
    uuid = django_filters.UUIDFilter()
    uuid__startswith = UuidPrefixFilter(field_name="uuid")
    name = django_filters.CharFilter()
    unique_name = django_filters.CharFilter()
    state = django_filters.ChoiceFilter(choices=ServiceState.choices)

    class Meta:
        model = Service
        fields = ["uuid", "uuid__startswith", "name", "unique_name", "state"]
