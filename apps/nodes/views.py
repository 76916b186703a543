from django.db.models import Count, Q
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.response import Response

from apps.containers.choices import ContainerState
from apps.core.schema import error_response
from apps.core.views import OwnedResourceViewSet

from . import services
from .filters import NodeClusterFilter, NodeFilter
from .models import Node, NodeCluster
from .serializers import (
    NodeClusterSerializer,
    NodeClusterWriteSerializer,
    NodeCreateSerializer,
    NodeSerializer,
    NodeUpdateSerializer,
)

STAFF_ONLY = error_response("Only staff register, change or terminate nodes and node clusters.")


class StaffWrites(permissions.BasePermission):
    """Every user reads nodes; only staff register, change and drain them (403 otherwise: the node is
    visible to them, so a 404 would be a lie)."""

    message = "Only staff can register, change or terminate nodes."

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or bool(request.user and request.user.is_staff)


class NodeViewSet(OwnedResourceViewSet):
    """Nodes are the operator's infrastructure, visible to every user so that an unreachable node explains
    the state of the containers on it; each user counts only their own containers on it. Staff register
    engines (POST, checked at once), change their tags and nickname (PATCH) and drain them (DELETE)."""

    serializer_class = NodeSerializer
    filterset_class = NodeFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_permissions(self):
        return [*super().get_permissions(), StaffWrites()]

    def queryset_for(self, user):
        live = Q(containers__service__owner=user) & ~Q(containers__state=ContainerState.TERMINATED)
        return Node.objects.select_related("node_cluster").annotate(
            current_num_containers=Count("containers", filter=live)
        )

    def _answer(self, node, code):
        fresh = self.get_queryset().get(pk=node.pk)
        return Response(NodeSerializer(fresh).data, status=code)

    @extend_schema(request=NodeCreateSerializer, responses={201: NodeSerializer, 200: NodeSerializer, 403: STAFF_ONLY})
    def create(self, request):
        serializer = NodeCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        tags = [tag["name"] for tag in data.pop("tags", [])] if "tags" in serializer.validated_data else None
        name, docker_host = data.pop("name"), data.pop("docker_host")
        node, created = services.register_node(
            name,
            docker_host,
            ca=data.pop("tls_ca", ""),
            cert=data.pop("tls_cert", ""),
            key=data.pop("tls_key", ""),
            tags=tags,
            **data,
        )
        return self._answer(node, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=NodeUpdateSerializer, responses={200: NodeSerializer, 403: STAFF_ONLY})
    def partial_update(self, request, uuid=None):
        serializer = NodeUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "tags" in data:
            data["tags"] = [tag["name"] for tag in data["tags"]]
        return self._answer(services.update_node(self.get_object(), data), status.HTTP_200_OK)

    @extend_schema(request=None, responses={202: NodeSerializer, 403: STAFF_ONLY})
    def destroy(self, request, uuid=None):
        return self._answer(services.terminate_node(self.get_object()), status.HTTP_202_ACCEPTED)


class NodeClusterViewSet(OwnedResourceViewSet):
    """Node clusters: named groups of registered nodes, visible to every user; staff create them (with
    nodes and tags), change them (PATCH `nodes`, `tags`, `nickname`) and remove them (DELETE: the nodes stay)."""

    serializer_class = NodeClusterSerializer
    filterset_class = NodeClusterFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_permissions(self):
        return [*super().get_permissions(), StaffWrites()]

    def queryset_for(self, user):
        return NodeCluster.objects.prefetch_related("nodes")

    def _answer(self, cluster, code):
        return Response(NodeClusterSerializer(self.get_queryset().get(pk=cluster.pk)).data, status=code)

    def _validated(self, partial=False):
        serializer = NodeClusterWriteSerializer(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "tags" in data:
            data["tags"] = [tag["name"] for tag in data["tags"]]
        return data

    @extend_schema(request=NodeClusterWriteSerializer, responses={201: NodeClusterSerializer, 403: STAFF_ONLY})
    def create(self, request):
        data = self._validated()
        cluster = services.create_cluster(
            data["name"], data.get("nodes", []), data.get("tags", []), nickname=data.get("nickname", "")
        )
        return self._answer(cluster, status.HTTP_201_CREATED)

    @extend_schema(request=NodeClusterWriteSerializer, responses={200: NodeClusterSerializer, 403: STAFF_ONLY})
    def partial_update(self, request, uuid=None):
        return self._answer(
            services.update_cluster(self.get_object(), self._validated(partial=True)), status.HTTP_200_OK
        )

    @extend_schema(request=None, responses={202: NodeClusterSerializer, 403: STAFF_ONLY})
    def destroy(self, request, uuid=None):
        return self._answer(services.terminate_cluster(self.get_object()), status.HTTP_202_ACCEPTED)
