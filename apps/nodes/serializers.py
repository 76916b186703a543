from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.fields import Rfc2822DateTimeField
from apps.core.serializers import ReadSerializer
from apps.core.uris import API_PREFIX, node_uri

from .models import NodeClusterState, NodeState

BYO_REGION = f"{API_PREFIX}/region/byo/byo/"
BYO_NODETYPE = f"{API_PREFIX}/nodetype/byo/byo/"


def nodecluster_uri(uuid) -> str:
    return f"{API_PREFIX}/nodecluster/{uuid}/"


TAGS_SCHEMA = {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}}
METRIC_SCHEMA = {
    "type": "object",
    "nullable": True,
    "properties": {"cpu": {"type": "number"}, "memory": {"type": "integer"}, "disk": {"type": "integer"}},
}


class NodeSerializer(ReadSerializer):
    """The Docker hosts containers run on, in the 2015 node shape, plus this server's own `name`,
    `schedulable` and `last_error`.

    A node here is a Docker engine the operator registered ("bring your own node"): it belongs to no node
    cluster, node type, region or availability zone (null), has no agent tunnel (null) and no metrics yet
    (`last_metric` null). Its facts come from its engine (`docker info`), read at registration and by every
    sweep; they are blank or null until the engine has answered once.
    """

    uuid = serializers.UUIDField()
    resource_uri = serializers.SerializerMethodField()
    name = serializers.CharField()
    nickname = serializers.SerializerMethodField()
    external_fqdn = serializers.CharField(source="fqdn")
    state = serializers.ChoiceField(choices=NodeState.choices)
    public_ip = serializers.CharField(source="publish_address")
    schedulable = serializers.BooleanField()
    last_seen = Rfc2822DateTimeField()
    last_error = serializers.CharField()
    node_cluster = serializers.SerializerMethodField()
    node_type = serializers.SerializerMethodField()
    region = serializers.SerializerMethodField()
    availability_zone = serializers.SerializerMethodField()
    docker_version = serializers.CharField()
    docker_graphdriver = serializers.CharField()
    docker_execdriver = serializers.CharField()
    cpu = serializers.IntegerField(allow_null=True)
    memory = serializers.IntegerField(allow_null=True, help_text="MB")
    disk = serializers.IntegerField(allow_null=True, help_text="GB")
    last_metric = serializers.SerializerMethodField()
    current_num_containers = serializers.IntegerField(help_text="Your live containers on it.")
    tunnel = serializers.SerializerMethodField()
    deployed_datetime = Rfc2822DateTimeField(source="created")
    destroyed_datetime = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()

    def get_resource_uri(self, node) -> str:
        return node_uri(node.uuid)

    def get_nickname(self, node) -> str:
        return node.nickname or node.name

    def get_node_cluster(self, node) -> str | None:
        return nodecluster_uri(node.node_cluster.uuid) if node.node_cluster_id else None

    def get_node_type(self, node) -> str | None:
        return None

    def get_region(self, node) -> str | None:
        return None

    def get_availability_zone(self, node) -> str | None:
        return None

    @extend_schema_field(METRIC_SCHEMA)
    def get_last_metric(self, node) -> dict | None:
        return None

    def get_tunnel(self, node) -> str | None:
        return None

    def get_destroyed_datetime(self, node) -> str | None:
        return Rfc2822DateTimeField().to_representation(node.destroyed) if node.destroyed else None

    @extend_schema_field(TAGS_SCHEMA)
    def get_tags(self, node) -> list[dict]:
        return [{"name": tag} for tag in node.tags]


class NodeTagInSerializer(serializers.Serializer):
    name = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,99}$")


class NodeCreateSerializer(serializers.Serializer):
    """`POST /node/` (staff): register an engine. The PEMs are write-only: stored encrypted, never answered."""

    name = serializers.CharField(max_length=100)
    docker_host = serializers.CharField(max_length=255, help_text="unix:///path.sock or tcp://host:port")
    tls_ca = serializers.CharField(required=False, allow_blank=True, write_only=True, trim_whitespace=False)
    tls_cert = serializers.CharField(required=False, allow_blank=True, write_only=True, trim_whitespace=False)
    tls_key = serializers.CharField(required=False, allow_blank=True, write_only=True, trim_whitespace=False)
    publish_address = serializers.CharField(max_length=255, required=False, default="127.0.0.1")
    external_fqdn = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
    nickname = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
    tags = NodeTagInSerializer(many=True, required=False)
    schedulable = serializers.BooleanField(required=False, default=True)


class NodeUpdateSerializer(serializers.Serializer):
    """`PATCH /node/<uuid>/` (staff): `tags` (`[{"name": …}]`, the whole new set) and `nickname`."""

    nickname = serializers.CharField(max_length=255, required=False, allow_blank=True)
    tags = NodeTagInSerializer(many=True, required=False)

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError({key: ["Only tags and nickname can be changed."] for key in unknown})
        return attrs


class NodeClusterSerializer(ReadSerializer):
    """A named group of registered nodes in the 2015 node-cluster shape. Its nodes are brought, not made:
    region and node type are the single "byo" entries, `target_num_nodes` is the nodes it has, and its
    state follows its nodes (`Deployed`, `Partly deployed`, `Unreachable`, `Empty cluster`)."""

    uuid = serializers.UUIDField()
    resource_uri = serializers.SerializerMethodField()
    name = serializers.CharField()
    nickname = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField()
    node_type = serializers.SerializerMethodField()
    region = serializers.SerializerMethodField()
    disk = serializers.SerializerMethodField()
    nodes = serializers.SerializerMethodField()
    target_num_nodes = serializers.SerializerMethodField()
    current_num_nodes = serializers.SerializerMethodField()
    deployed_datetime = Rfc2822DateTimeField(source="created")
    destroyed_datetime = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()
    provider_options = serializers.SerializerMethodField()

    def _nodes(self, cluster) -> list:
        return [node for node in cluster.nodes.all() if node.state != NodeState.TERMINATED]

    def get_resource_uri(self, cluster) -> str:
        return nodecluster_uri(cluster.uuid)

    def get_nickname(self, cluster) -> str:
        return cluster.nickname or cluster.name

    @extend_schema_field({"type": "string", "enum": list(NodeClusterState.values)})
    def get_state(self, cluster) -> str:
        return cluster.derived_state([node.state for node in cluster.nodes.all()])

    def get_node_type(self, cluster) -> str:
        return BYO_NODETYPE

    def get_region(self, cluster) -> str:
        return BYO_REGION

    def get_disk(self, cluster) -> int | None:
        return None

    def get_nodes(self, cluster) -> list[str]:
        return [node_uri(node.uuid) for node in self._nodes(cluster)]

    def get_target_num_nodes(self, cluster) -> int:
        return len(self._nodes(cluster))

    def get_current_num_nodes(self, cluster) -> int:
        return sum(1 for node in self._nodes(cluster) if node.state == NodeState.REACHABLE)

    def get_destroyed_datetime(self, cluster) -> str | None:
        return Rfc2822DateTimeField().to_representation(cluster.destroyed) if cluster.destroyed else None

    @extend_schema_field(TAGS_SCHEMA)
    def get_tags(self, cluster) -> list[dict]:
        return [{"name": tag} for tag in cluster.tags]

    @extend_schema_field({"type": "object"})
    def get_provider_options(self, cluster) -> dict:
        return {}


class NodeClusterWriteSerializer(serializers.Serializer):
    """`POST` (staff): `name`, `nodes` (node URIs), `tags`; `region`, `node_type`, `target_num_nodes`, `disk`
    and `provider_options` of the cloud clusters are accepted and mean nothing here. `PATCH`: `nodes`, `tags`,
    `nickname`."""

    name = serializers.CharField(max_length=100)
    nickname = serializers.CharField(max_length=255, required=False, allow_blank=True)
    nodes = serializers.ListField(child=serializers.CharField(), required=False)
    tags = NodeTagInSerializer(many=True, required=False)
    region = serializers.CharField(required=False, allow_blank=True)
    node_type = serializers.CharField(required=False, allow_blank=True)
    target_num_nodes = serializers.IntegerField(required=False, min_value=0)
    disk = serializers.IntegerField(required=False, allow_null=True)
    provider_options = serializers.DictField(required=False)

    def validate_nodes(self, uris):
        import re

        from .models import Node

        uuids = []
        for uri in uris:
            match = re.fullmatch(rf"(?:{API_PREFIX}/node/)?([0-9a-fA-F-]{{36}})/?", uri)
            if not match:
                raise serializers.ValidationError(f"{uri} is not a node URI.")
            uuids.append(match[1])
        nodes = list(Node.objects.filter(uuid__in=uuids).exclude(state=NodeState.TERMINATED))
        if len(nodes) != len(set(uuids)):
            raise serializers.ValidationError("Every node must be a registered node.")
        return nodes
