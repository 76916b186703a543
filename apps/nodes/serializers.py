from rest_framework import serializers

from apps.core.fields import Rfc2822DateTimeField

from .models import NodeState


class NodeSerializer(serializers.Serializer):
    """The Docker hosts containers run on, shaped like Tutum's later node resource."""

    uuid = serializers.UUIDField()
    resource_uri = serializers.SerializerMethodField()
    name = serializers.CharField()
    state = serializers.ChoiceField(choices=NodeState.choices)
    public_ip = serializers.CharField(source="publish_address")
    schedulable = serializers.BooleanField()
    last_seen = Rfc2822DateTimeField()
    last_error = serializers.CharField()

    def get_resource_uri(self, node) -> str:
        return f"/api/v1/node/{node.uuid}/"
