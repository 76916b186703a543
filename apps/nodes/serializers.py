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
        return None  # a node is removed by the operator, never kept terminated

    @extend_schema_field(TAGS_SCHEMA)
    def get_tags(self, node) -> list[dict]:
        return [{"name": tag} for tag in node.tags]
