import django_filters

from apps.core.filters import FilterSet, UuidPrefixFilter

from .models import Node, NodeState


class NodeFilter(FilterSet):
    uuid = django_filters.UUIDFilter()
    uuid__startswith = UuidPrefixFilter(field_name="uuid")
    state = django_filters.ChoiceFilter(choices=NodeState.choices)
    docker_version = django_filters.CharFilter()

    class Meta:
        model = Node
        fields = ["uuid", "uuid__startswith", "state", "docker_version"]
