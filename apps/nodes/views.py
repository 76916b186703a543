from apps.core.views import OwnedResourceViewSet

from .models import Node
from .serializers import NodeSerializer


class NodeViewSet(OwnedResourceViewSet):
    """Read-only: nodes are the operator's infrastructure, visible to every user so that an unreachable
    node explains the state of the containers on it."""

    serializer_class = NodeSerializer
    http_method_names = ["get", "head", "options"]

    def queryset_for(self, user):
        return Node.objects.all()
