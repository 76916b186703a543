from django.db.models import Count, Q

from apps.containers.choices import ContainerState
from apps.core.views import OwnedResourceViewSet

from .filters import NodeFilter
from .models import Node
from .serializers import NodeSerializer


class NodeViewSet(OwnedResourceViewSet):
    """Read-only: nodes are the operator's infrastructure, visible to every user so that an unreachable
    node explains the state of the containers on it. Each user counts only their own containers on it."""

    serializer_class = NodeSerializer
    filterset_class = NodeFilter
    http_method_names = ["get", "head", "options"]

    def queryset_for(self, user):
        live = Q(containers__service__owner=user) & ~Q(containers__state=ContainerState.TERMINATED)
        return Node.objects.annotate(current_num_containers=Count("containers", filter=live))
