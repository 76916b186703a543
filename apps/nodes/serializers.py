from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.fields import Rfc2822DateTimeField
from apps.core.serializers import ReadSerializer
from apps.core.uris import node_uri

from .models import NodeState

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
        return None

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
