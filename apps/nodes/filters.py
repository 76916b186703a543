import django_filters

from apps.core.filters import FilterSet, UuidPrefixFilter

from .models import Node, NodeCluster, NodeState


class NodeFilter(FilterSet):
    uuid = django_filters.UUIDFilter()
    uuid__startswith = UuidPrefixFilter(field_name="uuid")
    state = django_filters.ChoiceFilter(choices=NodeState.choices)
    docker_version = django_filters.CharFilter()
    node_cluster = django_filters.UUIDFilter(field_name="node_cluster__uuid")

    class Meta:
        model = Node
        fields = ["uuid", "uuid__startswith", "state", "docker_version", "node_cluster"]


class NodeClusterFilter(FilterSet):
    uuid = django_filters.UUIDFilter()
    uuid__startswith = UuidPrefixFilter(field_name="uuid")
    name = django_filters.CharFilter()

    class Meta:
        model = NodeCluster
        fields = ["uuid", "uuid__startswith", "name"]
